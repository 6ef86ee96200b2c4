# Builds Colibri's Windows installer: the Cython modules, the PyInstaller bundle (dist\colibri),
# its self-test, then dist\colibri-VERSION-windows-x64-setup.exe with Inno Setup 6.3+ (iscc),
# installed silently and self-tested again. Needs Python 3.11+, the MSVC build tools and Inno
# Setup (all preinstalled on GitHub's windows runners). From the repository root:
#   pwsh build\windows\build.ps1
$ErrorActionPreference = "Stop"
$PSNativeCommandUseErrorActionPreference = $true  # a failing pip, PyInstaller or iscc stops the script
Set-Location (Join-Path $PSScriptRoot "..\..")

function Invoke-Checked([string]$what, [scriptblock]$command) {
    & $command
    if ($LASTEXITCODE -ne 0) { throw "$what failed (exit $LASTEXITCODE)" }
}

# The bundle has no console (a windowed app): its self-test reports through the exit code and
# %LOCALAPPDATA%\Colibri\logs\self-test.txt, removed first so a stale report is never read.
function Test-Colibri([string]$exe) {
    $report = Join-Path $env:LOCALAPPDATA "Colibri\logs\self-test.txt"
    Remove-Item $report -ErrorAction SilentlyContinue
    $run = Start-Process -FilePath $exe -ArgumentList "--self-test" -Wait -PassThru
    Get-Content $report -ErrorAction SilentlyContinue
    if ($run.ExitCode -ne 0) { throw "the self-test of $exe failed (exit $($run.ExitCode))" }
}

Invoke-Checked "venv" { python -m venv .venv }
Invoke-Checked "pip" { .\.venv\Scripts\python -m pip install -q --upgrade pip "setuptools>=77" wheel }
Invoke-Checked "pip install" { .\.venv\Scripts\python -m pip install -q -e ".[dist]" }
Invoke-Checked "PyInstaller" {
    .\.venv\Scripts\python -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath .build\pyinstaller build\colibri.spec
}
Test-Colibri "dist\colibri\colibri.exe"

$version = (.\.venv\Scripts\python -c "from app.version import __version__; print(__version__)").Trim()
$iscc = Join-Path ${env:ProgramFiles(x86)} "Inno Setup 6\ISCC.exe"
if (-not (Test-Path $iscc)) { $iscc = "iscc" }
Invoke-Checked "Inno Setup" { & $iscc /Q "/DAppVersion=$version" build\windows\colibri.iss }

# The installer itself, silently and per user, then the installed app's self-test.
$setup = "dist\colibri-$version-windows-x64-setup.exe"
$install = Start-Process -FilePath $setup -ArgumentList "/VERYSILENT", "/CURRENTUSER", "/SUPPRESSMSGBOXES", "/NORESTART" -Wait -PassThru
if ($install.ExitCode -ne 0) { throw "the installer failed (exit $($install.ExitCode))" }
Test-Colibri (Join-Path $env:LOCALAPPDATA "Programs\Colibri\colibri.exe")
Write-Output "built $setup"
