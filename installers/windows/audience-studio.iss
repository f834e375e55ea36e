; Inno Setup script for Audience Studio (compiled by installers\windows\build.ps1).
; A per-user install by default (no administrator needed), with Start menu and optional desktop
; shortcuts; the command line (audience-studio.exe) is installed beside the desktop app.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif

[Setup]
AppId={{6A0E3C52-3F1B-4B0B-9B8E-5C3D2A7F1E64}
AppName=Audience Studio
AppVersion={#AppVersion}
AppPublisher=Audience Studio
DefaultDirName={autopf}\Audience Studio
DefaultGroupName=Audience Studio
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputBaseFilename=AudienceStudio-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\resources\icons\audience-studio.ico
UninstallDisplayIcon={app}\Audience Studio.exe
Compression=lzma2
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Audience Studio"; Filename: "{app}\Audience Studio.exe"
Name: "{autodesktop}\Audience Studio"; Filename: "{app}\Audience Studio.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\Audience Studio.exe"; Description: "{cm:LaunchProgram,Audience Studio}"; Flags: nowait postinstall skipifsilent
