; Inno Setup 6.3+ script (x64compatible): a per-user Windows installer for the PyInstaller bundle in dist\colibri.
; No administrator rights: installs under %LOCALAPPDATA%\Programs\Colibri with a Start-menu
; entry and an uninstaller (Settings -> Apps). Settings, accounts and journals live in
; %APPDATA%\Colibri and %LOCALAPPDATA%\Colibri and are kept on uninstall and upgrade.
;   iscc /DAppVersion=0.1.0 build\windows\colibri.iss      (build\windows\build.ps1 runs it)
#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z build\windows\colibri.iss
#endif

[Setup]
AppId={{6B3C1E52-6F0B-4E8A-9C1D-3F1A7C0B9E21}
AppName=Colibri
AppVersion={#AppVersion}
AppVerName=Colibri {#AppVersion}
AppPublisher=Colibri developers
DefaultDirName={autopf}\Colibri
DefaultGroupName=Colibri
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=colibri-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\resources\icons\colibri.ico
UninstallDisplayIcon={app}\colibri.exe
UninstallDisplayName=Colibri
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes
LicenseFile=..\..\LICENSE

[Tasks]
Name: "desktopicon"; Description: "Create a &desktop shortcut"; GroupDescription: "Shortcuts:"; Flags: unchecked

[Files]
Source: "..\..\dist\colibri\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An upgrade replaces the app's own files only (old modules must not linger beside new ones).
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\Colibri"; Filename: "{app}\colibri.exe"; Comment: "Market making and algorithmic trading"
Name: "{autodesktop}\Colibri"; Filename: "{app}\colibri.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\colibri.exe"; Description: "Start Colibri"; Flags: nowait postinstall skipifsilent
