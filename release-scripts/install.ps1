<#
.SYNOPSIS
Installs the Windows executable of a duo-sea release after checking its SHA-256.

.DESCRIPTION
Reads SHA256SUMS from the release, picks the file <bin>-<target>.exe for this
machine (win-x64 or win-arm64), downloads or copies it into a temporary file
in the destination folder, checks its SHA-256 against SHA256SUMS, and only
then moves it into place. On a mismatch or any other error nothing is
installed. Runs on Windows PowerShell 5.1 and PowerShell 7.

.PARAMETER BaseUrl
URL of the release folder that contains SHA256SUMS, such as
https://gitlab.example.com/api/v4/projects/42/packages/generic/srt/0.0.78-node26.10.0

.PARAMETER From
Local folder with the release files; nothing is downloaded.

.PARAMETER Dir
Folder to install into. Default: %LOCALAPPDATA%\Programs\<bin>.

.PARAMETER Name
File name of the installed command. Default: <bin>.exe.

.PARAMETER Bin
Bin name to install, for a release that holds several.

.PARAMETER Target
Target to install: win-x64 or win-arm64. Default: this machine's.

.PARAMETER Sha256
SHA-256 that the executable must have, from a channel you trust. SHA256SUMS
must list the same value.

.NOTES
NOTE: duo-sea's tests run on Linux without PowerShell, so this script has
not been run there; install.sh, which it mirrors, is tested.

For a private package registry, set DUO_SEA_INSTALL_TOKEN to a GitLab
personal, project, deploy or CI/CD job token; it is sent with HTTP Basic
authentication as the password of DUO_SEA_INSTALL_USER (default: token).
#>
[CmdletBinding()]
param(
  [string]$BaseUrl,
  [string]$From,
  [string]$Dir,
  [string]$Name,
  [string]$Bin,
  [string]$Target,
  [string]$Sha256
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
# The progress bar of Invoke-WebRequest slows downloads many times over in Windows PowerShell 5.1.
$ProgressPreference = 'SilentlyContinue'

function Fail([string]$Message, [string]$Hint) {
  [Console]::Error.WriteLine("install.ps1: error: $Message")
  if ($Hint) { [Console]::Error.WriteLine("hint: $Hint") }
  exit 1
}

function Get-ThisTarget {
  $architecture = $null
  try {
    $architecture = [System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture.ToString()
  } catch {
    # .NET Framework before 4.7.1 lacks RuntimeInformation; the environment names the CPU too.
    $architecture = if ($env:PROCESSOR_ARCHITEW6432) { $env:PROCESSOR_ARCHITEW6432 } else { $env:PROCESSOR_ARCHITECTURE }
  }
  switch ($architecture.ToUpperInvariant()) {
    'X64' { return 'win-x64' }
    'AMD64' { return 'win-x64' }
    'ARM64' { return 'win-arm64' }
    default { Fail "no duo-sea target runs on the CPU $architecture" 'Targets exist for x64 and arm64 only.' }
  }
}

function Get-BasicAuthorization {
  $token = $env:DUO_SEA_INSTALL_TOKEN
  if (-not $token) { return @{} }
  $user = if ($env:DUO_SEA_INSTALL_USER) { $env:DUO_SEA_INSTALL_USER } else { 'token' }
  $pair = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("${user}:$token"))
  # Invoke-WebRequest of PowerShell 7 drops the Authorization header when it follows a redirect (unless
  # -PreserveAuthorizationOnRedirect), so object storage never receives the token.
  # NOTE: not verified for Windows PowerShell 5.1, whose web client is a different one.
  return @{ Authorization = "Basic $pair" }
}

function Save-Url([string]$Url, [string]$Path) {
  Invoke-WebRequest -Uri $Url -OutFile $Path -Headers (Get-BasicAuthorization) -UseBasicParsing
}

function Get-Sha256([string]$Path) {
  return (Get-FileHash -Algorithm SHA256 -LiteralPath $Path).Hash.ToLowerInvariant()
}

# Returns the SHA256SUMS entries (Sha256, File) of the executables <bin>-<target>.exe.
function Find-Executable([string[]]$Lines, [string]$TargetId, [string]$BinName) {
  $suffix = "-$TargetId.exe"
  foreach ($line in $Lines) {
    # -cnotmatch: sha256sum writes lower-case hex, and -notmatch would ignore case.
    if ($line -cnotmatch '^([0-9a-f]{64}) [ *]([A-Za-z0-9._+-]+)\r?$') { continue }
    $file = $Matches[2]
    if ($file.Length -le $suffix.Length -or -not $file.EndsWith($suffix, [StringComparison]::Ordinal)) { continue }
    $fileBin = $file.Substring(0, $file.Length - $suffix.Length)
    if (-not $BinName -or $fileBin -ceq $BinName) {
      [pscustomobject]@{ Sha256 = $Matches[1]; File = $file; Bin = $fileBin }
    }
  }
}

if ($BaseUrl -and $From) { Fail '-BaseUrl and -From exclude each other' 'Pass one of them.' }
if (-not $BaseUrl -and -not $From) { Fail 'pass -BaseUrl URL or -From DIR' 'Run Get-Help .\install.ps1 for the parameters.' }
if ($BaseUrl -and $BaseUrl -notmatch '^https?://') { Fail "-BaseUrl must start with https:// or http://: $BaseUrl" 'Pass the URL of the release folder.' }
if ($Sha256 -and $Sha256 -notmatch '^[0-9a-fA-F]{64}$') { Fail "-Sha256 must be 64 hex digits: $Sha256" 'Copy the value from a SHA256SUMS you trust.' }
foreach ($value in @($Name, $Bin, $Target)) {
  if ($value -and ($value -notmatch '^[A-Za-z0-9._+-]+$' -or $value -eq '.' -or $value -eq '..')) {
    Fail "invalid name: $value" "Use letters, digits, '.', '_', '+' and '-' only."
  }
}
if ([Environment]::OSVersion.Platform -ne [PlatformID]::Win32NT) {
  Fail 'install.ps1 installs Windows executables, and this system is not Windows' 'On Linux and macOS, run install.sh instead.'
}
# Windows PowerShell 5.1 on older .NET offers only TLS 1.0 and 1.1 unless TLS 1.2 is added.
[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12

if (-not $Target) { $Target = Get-ThisTarget }
$workDir = Join-Path ([IO.Path]::GetTempPath()) ('duo-sea-install-' + [Guid]::NewGuid().ToString('N'))
$stagedFile = $null
New-Item -ItemType Directory -Path $workDir | Out-Null
try {
  $sumsFile = Join-Path $workDir 'SHA256SUMS'
  if ($From) {
    $listed = Join-Path $From 'SHA256SUMS'
    if (-not (Test-Path -LiteralPath $listed -PathType Leaf)) { Fail "$listed not found" 'Pass -From with the folder that contains the release files.' }
    Copy-Item -LiteralPath $listed -Destination $sumsFile
  } else {
    $BaseUrl = $BaseUrl.TrimEnd('/')
    if ($env:DUO_SEA_INSTALL_TOKEN -and $BaseUrl.StartsWith('http://')) {
      [Console]::Error.WriteLine("install.ps1: warning: sending the token over plain http to $BaseUrl")
    }
    try { Save-Url "$BaseUrl/SHA256SUMS" $sumsFile } catch {
      Fail "download of $BaseUrl/SHA256SUMS failed: $($_.Exception.Message)" 'Check -BaseUrl (the folder that holds SHA256SUMS) and, for a private registry, DUO_SEA_INSTALL_TOKEN.'
    }
  }

  $candidates = @(Find-Executable -Lines (Get-Content -LiteralPath $sumsFile) -TargetId $Target -BinName $Bin)
  if ($candidates.Count -eq 0) { Fail "SHA256SUMS lists no executable for $Target" 'Pass -Target or -Bin to choose another executable, or build this target with duo-sea.' }
  if ($candidates.Count -gt 1) { Fail "SHA256SUMS lists several executables for ${Target}: $(($candidates | ForEach-Object { $_.File }) -join ', ')" 'Pass -Bin NAME to choose one.' }
  $entry = $candidates[0]
  if ($Sha256 -and $Sha256.ToLowerInvariant() -ne $entry.Sha256) {
    Fail "SHA256SUMS lists $($entry.Sha256) for $($entry.File), not the $Sha256 of -Sha256" 'The release differs from the one you pinned: get the release again from a trusted source.'
  }

  if (-not $Name) { $Name = "$($entry.Bin).exe" }
  if (-not $Dir) { $Dir = Join-Path $env:LOCALAPPDATA (Join-Path 'Programs' $entry.Bin) }
  $destination = Join-Path $Dir $Name
  if (Test-Path -LiteralPath $destination -PathType Container) { Fail "$destination is a folder" 'Pass -Name or -Dir so that the destination is a file path.' }
  New-Item -ItemType Directory -Path $Dir -Force | Out-Null
  # The temporary file sits in the destination folder, so the final move is a rename within one volume.
  $stagedFile = Join-Path $Dir (".$Name." + [Guid]::NewGuid().ToString('N') + '.tmp')

  if ($From) {
    try { Copy-Item -LiteralPath (Join-Path $From $entry.File) -Destination $stagedFile } catch {
      Fail "cannot copy $(Join-Path $From $entry.File): $($_.Exception.Message)" "Check that $From holds every file of the release."
    }
  } else {
    try { Save-Url "$BaseUrl/$($entry.File)" $stagedFile } catch {
      Fail "download of $BaseUrl/$($entry.File) failed: $($_.Exception.Message)" 'Check the network and -BaseUrl, then run the script again.'
    }
  }

  $actual = Get-Sha256 $stagedFile
  if ($actual -ne $entry.Sha256) {
    Fail "SHA-256 mismatch for $($entry.File): expected $($entry.Sha256), found $actual; nothing was installed" 'The file is damaged or was replaced: get the release again and compare SHA256SUMS with the one you trust.'
  }
  Move-Item -LiteralPath $stagedFile -Destination $destination -Force
  $stagedFile = $null

  Write-Output "Installed $($entry.File) as $destination (sha256 $actual)"
  $pathFolders = $env:PATH -split ';' | ForEach-Object { $_.TrimEnd('\') }
  if ($pathFolders -notcontains $Dir.TrimEnd('\')) { Write-Output "Note: $Dir is not on PATH." }
} finally {
  if ($stagedFile -and (Test-Path -LiteralPath $stagedFile)) { Remove-Item -LiteralPath $stagedFile -Force }
  Remove-Item -LiteralPath $workDir -Recurse -Force -ErrorAction SilentlyContinue
}
