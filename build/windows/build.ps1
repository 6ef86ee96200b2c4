# Builds Colibri's Windows installer: the Cython modules, the PyInstaller bundle (dist\colibri),
# its self-test, then dist\colibri-VERSION-windows-x64-setup.exe with Inno Setup 6 (iscc).
# Needs Python 3.11+, the MSVC build tools and Inno Setup (all preinstalled on GitHub's
# windows runners). Run from the repository root:  pwsh build\windows\build.ps1
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")

python -m venv .venv
.\.venv\Scripts\python -m pip install -q --upgrade pip "setuptools>=77" wheel
.\.venv\Scripts\python -m pip install -q -e ".[dist]"
.\.venv\Scripts\python -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath .build\pyinstaller build\colibri.spec

# The bundle has no console (a windowed app): its self-test reports through the exit code and
# %LOCALAPPDATA%\Colibri\logs\self-test.txt.
$test = Start-Process -FilePath "dist\colibri\colibri.exe" -ArgumentList "--self-test" -Wait -PassThru
Get-Content (Join-Path $env:LOCALAPPDATA "Colibri\logs\self-test.txt")
if ($test.ExitCode -ne 0) { throw "the bundle's self-test failed (exit $($test.ExitCode))" }

$version = (.\.venv\Scripts\python -c "from app.version import __version__; print(__version__)").Trim()
$iscc = Join-Path ${env:ProgramFiles(x86)} "Inno Setup 6\ISCC.exe"
if (-not (Test-Path $iscc)) { $iscc = "iscc" }
& $iscc /Q "/DAppVersion=$version" build\windows\colibri.iss
if ($LASTEXITCODE -ne 0) { throw "Inno Setup failed" }

# The installer itself, silently and per user, then the installed app's self-test.
$setup = Get-ChildItem dist\colibri-*-windows-x64-setup.exe | Select-Object -First 1
$install = Start-Process -FilePath $setup.FullName -ArgumentList "/VERYSILENT", "/CURRENTUSER", "/SUPPRESSMSGBOXES", "/NORESTART" -Wait -PassThru
if ($install.ExitCode -ne 0) { throw "the installer failed (exit $($install.ExitCode))" }
$installed = Join-Path $env:LOCALAPPDATA "Programs\Colibri\colibri.exe"
$test = Start-Process -FilePath $installed -ArgumentList "--self-test" -Wait -PassThru
Get-Content (Join-Path $env:LOCALAPPDATA "Colibri\logs\self-test.txt")
if ($test.ExitCode -ne 0) { throw "the installed app's self-test failed (exit $($test.ExitCode))" }
Write-Output "built $($setup.Name)"
