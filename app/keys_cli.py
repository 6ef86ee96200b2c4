"""`colibri keys set|list|delete|test ACCOUNT`: exchange API keys without the desktop app.

Keys and secrets are read from a prompt without echo or from stdin (`--stdin`: the key,
then the secret, then an optional passphrase, one per line), never from the command line,
where they would stay in the shell history and the process list: `--secret` and its
relatives are refused. Keys are printed masked (`abcd…wxyz`). Where they are stored is
app.keystore's business: the system keyring, or the encrypted file chosen with
`--keystore encrypted-file` / COLIBRI_KEYSTORE.

Exit status: 0 done, 2 bad input, an unknown account, no usable key store or a failed
check; every error is one line on stderr, `error: ...`.
"""
from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from app.config.schema import one_line
from app.redact import redact

FORBIDDEN_FLAGS = ("--secret", "--key", "--api-key", "--apikey", "--api-secret", "--passphrase", "--password")
NO_SECRETS_ON_COMMAND_LINE = (
    "API keys and secrets are never taken from the command line (they would stay in the shell history "
    "and the process list): type them at the prompt, or pipe them with --stdin (key, secret, optional "
    "passphrase: one per line)")


class _Refuse(argparse.Action):
    """A secret given as a flag: refused without repeating its value."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        parser.error(f"{option_string}: {NO_SECRETS_ON_COMMAND_LINE}")


def add_keys_parser(sub: Any) -> None:
    """Registers `keys` on the main parser's subcommands."""
    from app.keystore import CHOICES, ENCRYPTED_FILE, KEYSTORE_ENV

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--keystore", choices=CHOICES, default=None,
                        help=f"where secrets are kept: the system keyring (default) or, explicitly, "
                             f"{ENCRYPTED_FILE} (passphrase from a prompt or COLIBRI_KEYSTORE_PASSPHRASE); "
                             f"default: ${KEYSTORE_ENV} or system")

    keys = sub.add_parser("keys", help="exchange API keys: set, list, delete, test (headless)",
                          description="Exchange accounts and their API keys, kept in the system keyring "
                                      "(or an encrypted file), shown masked.")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="{set,list,delete,test}",
                                   parser_class=_no_echo_parser(type(keys)))

    set_ = keys_sub.add_parser("set", parents=[common], help="add an account, or replace its keys",
                               description="Adds the account ACCOUNT, or replaces its keys. The key and secret "
                                           "come from a prompt (no echo) or from stdin with --stdin; never "
                                           "from the command line.")
    set_.add_argument("account", metavar="ACCOUNT", help="account name: lower-case letters, digits, . _ -")
    set_.add_argument("--exchange", help="ccxt exchange id, e.g. binance (required for a new account)")
    set_.add_argument("--label", help="a name to show (default: the exchange id)")
    set_.add_argument("--sandbox", action=argparse.BooleanOptionalAction, default=None,
                      help="use the exchange's sandbox (testnet)")
    set_.add_argument("--read-only", dest="read_only", action=argparse.BooleanOptionalAction, default=None,
                      help="a key for balances and checks only: Colibri never trades with it")
    set_.add_argument("--url", help="custom API base URL, e.g. http://127.0.0.1:PORT (the local rehearsal "
                                    "exchange); --url '' removes it")
    set_.add_argument("--symbols", help="markets the desktop opens for this account, e.g. BTC/USDT,ETH/USDT:USDT")
    set_.add_argument("--stdin", action="store_true",
                      help="read the key, the secret and an optional passphrase from stdin, one per line")
    for flag in FORBIDDEN_FLAGS:
        set_.add_argument(flag, nargs="?", action=_Refuse, help=argparse.SUPPRESS)
    set_.set_defaults(func=cmd_keys_set)

    list_ = keys_sub.add_parser("list", parents=[common], help="accounts with their masked keys")
    list_.set_defaults(func=cmd_keys_list)

    delete = keys_sub.add_parser("delete", parents=[common], help="remove an account and its keyring entries")
    delete.add_argument("account", metavar="ACCOUNT")
    delete.set_defaults(func=cmd_keys_delete)

    test = keys_sub.add_parser("test", parents=[common],
                               help="check the key with one authenticated call (fetch balance)")
    test.add_argument("account", metavar="ACCOUNT")
    test.add_argument("--timeout", type=_seconds, default=15.0, help="seconds to wait for the exchange (default 15)")
    test.set_defaults(func=cmd_keys_test)


def _no_echo_parser(base: type[argparse.ArgumentParser]) -> type[argparse.ArgumentParser]:
    """A parser that keeps unrecognised arguments in `args.extra` instead of returning them:
    argparse would print them back ("unrecognized arguments: ..."), and one may be a secret
    pasted in the wrong place. The commands refuse them without showing them."""

    class NoEchoParser(base):  # type: ignore[misc, valid-type]
        def parse_known_args(self, args=None, namespace=None):
            namespace, extras = super().parse_known_args(args, namespace)
            namespace.extra = [*getattr(namespace, "extra", []), *extras]
            return namespace, []

    return NoEchoParser


def _refuse_extra(args: argparse.Namespace) -> int | None:
    if getattr(args, "extra", None):
        return _fail(f"keys {args.keys_command}: {len(args.extra)} unexpected argument(s) (not shown: they may be "
                     f"secrets); see colibri keys {args.keys_command} --help. {NO_SECRETS_ON_COMMAND_LINE}")
    return None


def _seconds(text: str) -> float:
    from app.cli import positive_number

    return positive_number("a number of seconds", 3600.0)(text)


# -- helpers ----------------------------------------------------------------------------------
def _fail(message: str) -> int:
    print(f"error: {one_line(redact(message))}", file=sys.stderr)
    return 2


def _store(args: argparse.Namespace):
    """The account store with the chosen key store (SecretStoreError when unusable)."""
    from app.accounts import AccountStore
    from app.keystore import resolve_backend

    return AccountStore(backend=resolve_backend(args.keystore))


def _read_secrets(args: argparse.Namespace) -> tuple[str, str, str]:
    """(key, secret, passphrase) from stdin or the prompt; ValueError when missing."""
    if args.stdin:
        lines = [line.strip() for line in sys.stdin.read().splitlines()]
        while lines and not lines[-1]:
            lines.pop()
        if len(lines) < 2:
            raise ValueError("--stdin expects the API key and the secret on two lines (then an optional passphrase)")
        if len(lines) > 3:
            raise ValueError("--stdin expects at most three lines: the API key, the secret, an optional passphrase")
        key, secret, passphrase = (*lines, "")[:3]
        return key, secret, passphrase
    if sys.stdin is None or not sys.stdin.isatty():
        raise ValueError("no terminal to ask for the API key: pipe the key and the secret with --stdin")
    try:
        key = getpass.getpass("API key: ").strip()
        secret = getpass.getpass("API secret: ").strip()
        passphrase = getpass.getpass("API passphrase (Enter if none): ").strip()
    except EOFError:
        raise ValueError("no API key given") from None
    return key, secret, passphrase


# -- commands ---------------------------------------------------------------------------------
def cmd_keys_set(args: argparse.Namespace) -> int:
    from app.accounts import AccountError, SecretStoreError

    if (refused := _refuse_extra(args)) is not None:
        return refused
    try:
        store = _store(args)
        existing = next((a for a in store.accounts() if a.id == args.account), None)
        if existing is not None and existing.builtin:
            return _fail(f"keys set: “{args.account}” is a built-in account and has no keys")
        if existing is None and not args.exchange:
            return _fail(f"keys set: {args.account} is a new account: give its exchange with --exchange "
                         "(a ccxt id, e.g. binance)")
        if existing is not None and args.exchange and args.exchange.strip() != existing.exchange_id:
            return _fail(f"keys set: {args.account} is a {existing.exchange_id} account; delete it first "
                         f"to use it for {args.exchange.strip()}")
        if existing is None:  # inputs that can be checked before asking for the secrets
            from app.accounts import validate

            problems = validate(args.exchange, "-", "-", "-", bool(args.sandbox), args.label or "", args.url or "")
            problems.pop("passphrase", None)
            if problems:
                return _fail(f"keys set: {next(iter(problems.values()))}")
            problem = store._check_new_id(args.account)
            if problem:
                return _fail(f"keys set: {problem}")
        try:
            key, secret, passphrase = _read_secrets(args)
        except ValueError as exc:
            return _fail(f"keys set: {exc}")
        if existing is None:
            account = store.add(args.exchange, key, secret, passphrase, label=args.label or "",
                                sandbox=bool(args.sandbox), read_only=bool(args.read_only), url=args.url or "",
                                account_id=args.account, symbols=args.symbols or ())
            done = "added"
        else:
            account = store.update(args.account, key, secret, passphrase, label=args.label, sandbox=args.sandbox,
                                   read_only=args.read_only, url=args.url, symbols=args.symbols)
            done = "updated"
        masked = store.masked_key(account.id)
    except AccountError as exc:
        return _fail(f"keys set: {exc}")
    except SecretStoreError as exc:
        return _fail(str(exc))
    print(f"{done} {account.id} ({account.exchange_id}{_flags(account, ', ')}): key {masked}")
    return 0


def _flags(account: Any, lead: str = "") -> str:
    flags = [name for name, on in (("sandbox", account.sandbox), ("read-only", account.read_only)) if on]
    if account.url:
        flags.append(f"url {account.url}")
    return (lead + ", ".join(flags)) if flags else ""


def cmd_keys_list(args: argparse.Namespace) -> int:
    if (refused := _refuse_extra(args)) is not None:
        return refused
    from app.accounts import AccountError, SecretStoreError

    try:
        store = _store(args)
        rows = [(a.id, a.exchange_id, store.masked_key(a.id) or "(missing)", _flags(a) or "-", a.label)
                for a in store.accounts() if not a.builtin]
    except (AccountError, SecretStoreError) as exc:
        return _fail(str(exc))
    if not rows:
        print("no exchange accounts (add one: colibri keys set ACCOUNT --exchange EXCHANGE)")
        return 0
    header = ("ACCOUNT", "EXCHANGE", "KEY", "FLAGS", "LABEL")
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header) - 1)]
    for row in (header, *rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    return 0


def cmd_keys_delete(args: argparse.Namespace) -> int:
    if (refused := _refuse_extra(args)) is not None:
        return refused
    from app.accounts import AccountError, SecretStoreError

    try:
        store = _store(args)
        account = store.get(args.account)
        store.delete(args.account)
    except (AccountError, SecretStoreError) as exc:
        return _fail(f"keys delete: {exc}")
    print(f"deleted {account.id} ({account.exchange_id}) and its keyring entries")
    return 0


def cmd_keys_test(args: argparse.Namespace) -> int:
    if (refused := _refuse_extra(args)) is not None:
        return refused
    from app.account_check import check_stored_account
    from app.accounts import AccountError, SecretStoreError

    try:
        store = _store(args)
        account = store.get(args.account)
        if account.builtin:
            return _fail(f"keys test: “{args.account}” is built in: it has no keys to test")
        result = asyncio.run(check_stored_account(store, args.account, args.timeout))
    except (AccountError, SecretStoreError) as exc:
        return _fail(f"keys test: {exc}")
    if result.ok:
        print(one_line(redact(f"ok: {account.id} ({account.exchange_id}): {result.message}")))
        return 0
    return _fail(f"keys test: {account.id} ({account.exchange_id}): {result.message}")
