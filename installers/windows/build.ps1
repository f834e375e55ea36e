# Builds the Windows installer: dist\AudienceStudio-<version>-windows-x64-setup.exe.
# Cannot run on Linux (PyInstaller freezes for the OS it runs on). On Windows 10/11 with Python 3.11+
# and Inno Setup 6 (https://jrsoftware.org/isinfo.php, or: winget install JRSoftware.InnoSetup):
#
#   powershell -ExecutionPolicy Bypass -File installers\windows\build.ps1
#
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")

if (-not (Test-Path .venv\Scripts\python.exe)) { py -3.11 -m venv .venv }
.venv\Scripts\python -m pip install --quiet --upgrade pip
.venv\Scripts\python -m pip install --quiet -e ".[installers]"
$version = (.venv\Scripts\python -c "import app; print(app.__version__)").Trim()

.venv\Scripts\pyside6-rcc --binary resources\audience_studio.qrc -o resources\audience_studio.rcc
.venv\Scripts\pyinstaller --noconfirm --log-level WARN --distpath build\installers\dist `
    --workpath build\installers\pyinstaller installers\audience-studio.spec

$iscc = Join-Path ${env:ProgramFiles(x86)} "Inno Setup 6\ISCC.exe"
if (-not (Test-Path $iscc)) { throw "Inno Setup 6 is not installed (winget install JRSoftware.InnoSetup)" }
& $iscc "/DAppVersion=$version" "/DSourceDir=$PWD\build\installers\dist\AudienceStudio" "/O$PWD\dist" `
    installers\windows\audience-studio.iss
Write-Host "Built dist\AudienceStudio-$version-windows-x64-setup.exe"

# The same smoke test as on Linux, on the frozen app:
$homeDir = Join-Path $env:TEMP ("as-smoke-" + [guid]::NewGuid())
$env:QT_QPA_PLATFORM = "offscreen"
& build\installers\dist\AudienceStudio\audience-studio.exe --home $homeDir demo --profiles 2000 --days 14
& build\installers\dist\AudienceStudio\audience-studio.exe --home $homeDir --self-test
if ($LASTEXITCODE -ne 0) { throw "Smoke test failed" }
