using Microsoft.Extensions.Configuration;
using ConfigSync.Sources.Git.Tests.TestSupport;

namespace ConfigSync.Sources.Git.Tests;

/// <summary>source.verify against commits and tags signed with the real git, ssh-keygen and gpg.</summary>
public sealed class SignatureVerificationTests : IDisposable
{
    private static readonly ISourceFactory Factory = new GitSourceFactory();
    private readonly TempFolder _temp = new();
    private readonly GitRepo _repo;
    private readonly string _allowedSigners;
    private readonly string[] _trustedSsh;
    private readonly string[] _untrustedSsh;

    public SignatureVerificationTests()
    {
        _repo = new GitRepo(_temp.Path);
        var keys = _temp.Combine("keys");
        Directory.CreateDirectory(keys);
        Shell.Run(keys, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", Path.Combine(keys, "alice"));
        Shell.Run(keys, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "mallory", "-f", Path.Combine(keys, "mallory"));
        _allowedSigners = Path.Combine(keys, "allowed_signers");
        File.WriteAllText(_allowedSigners, "alice@example.com " + File.ReadAllText(Path.Combine(keys, "alice.pub")));
        _trustedSsh = ["gpg.format=ssh", "user.signingkey=" + Path.Combine(keys, "alice")];
        _untrustedSsh = ["gpg.format=ssh", "user.signingkey=" + Path.Combine(keys, "mallory")];
    }

    private string Root => _temp.Combine("volume");

    public void Dispose()
    {
        foreach (var home in Directory.EnumerateDirectories(_temp.Path, "gpg-*"))
        {
            Shell.Run("/", "gpgconf", "--homedir", home, "--kill", "gpg-agent");
        }

        _temp.Dispose();
    }

    [Fact]
    public async Task SshSignedCommit_ByAnAllowedSigner_IsPublished_AndTheSignerIsRecorded()
    {
        _repo.Write("app.yaml", "v: 1");
        var sha = _repo.SignedCommit("signed", _trustedSsh);
        await using var git = Harness(("verify:allowedSignersFile", _allowedSigners));

        var manifest = await git.SyncAsync();

        Assert.Equal(sha, manifest!.Revision);
        Assert.Equal($"commit {sha[..12]} (HEAD) signed by SSH key of alice@example.com", manifest.Details["signature"]);
    }

    [Fact]
    public async Task UnsignedHead_IsRejectedWithANamedError_AndTheLastVerifiedTreeStays()
    {
        _repo.Write("app.yaml", "v: 1");
        var good = _repo.SignedCommit("signed", _trustedSsh);
        await using var git = Harness(("verify:allowedSignersFile", _allowedSigners));
        await git.SyncAsync();
        _repo.Write("app.yaml", "v: 2 (unsigned)");
        var unsigned = _repo.Commit("not signed");

        var e = await Assert.ThrowsAsync<RevisionRejectedException>(() => git.SyncAsync());

        Assert.Equal(unsigned, e.Revision);
        Assert.Equal("signature", e.Check);
        Assert.Equal($"commit {unsigned[..12]} (HEAD) is not signed; source.verify publishes only objects signed by a key in verify.allowedSignersFile", e.Reason);
        Assert.Equal(good, git.Publisher.Live!.Revision);
        Assert.Equal("v: 1", git.Read("app.yaml"));
    }

    [Fact]
    public async Task SshSignatureByAKeyNotAllowed_IsRejectedNamingTheKey()
    {
        _repo.Write("app.yaml", "v: 1");
        var sha = _repo.SignedCommit("signed by mallory", _untrustedSsh);
        var fingerprint = Shell.Run("/", "ssh-keygen", "-l", "-f", _temp.Combine("keys", "mallory.pub")).Split(' ')[1];
        await using var git = Harness(("verify:allowedSignersFile", _allowedSigners));

        var e = await Assert.ThrowsAsync<RevisionRejectedException>(() => git.SyncAsync());

        Assert.Equal($"commit {sha[..12]} (HEAD): signed by SSH key {fingerprint}, which is not in verify.allowedSignersFile", e.Reason);
        Assert.Null(git.Publisher.Live);
    }

    [Fact]
    public async Task ForgedCommit_CarryingAnotherCommitsSignature_IsRejected()
    {
        _repo.Write("app.yaml", "v: 1");
        _repo.SignedCommit("harmless change", _trustedSsh);

        // Same gpgsig header, different message: the signature no longer covers the bytes.
        var raw = Shell.Run(_repo.Work, "git", "cat-file", "commit", "HEAD") + "\n";
        var forgedText = raw.Replace("harmless change", "harmful change", StringComparison.Ordinal);
        var forgedFile = _temp.Combine("forged-commit");
        File.WriteAllText(forgedFile, forgedText);
        var forged = Shell.Run(_repo.Work, "git", "hash-object", "-t", "commit", "-w", forgedFile);
        _repo.Git("push", "-q", "-f", "origin", $"{forged}:refs/heads/main");
        await using var git = Harness(("verify:allowedSignersFile", _allowedSigners));

        var e = await Assert.ThrowsAsync<RevisionRejectedException>(() => git.SyncAsync());

        Assert.Equal(forged, e.Revision);
        Assert.Contains("the SSH signature does not verify for alice@example.com", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenPgpSignedCommit_TrustedKeyPublishes_AnotherKeyIsRejected()
    {
        var (trustedSigning, trustedFingerprint) = GpgKey("trusted");
        var (otherSigning, otherFingerprint) = GpgKey("other");
        var keysFile = _temp.Combine("trusted.asc");
        File.WriteAllText(keysFile, Shell.Run("/", "gpg", "--homedir", _temp.Combine("gpg-trusted"), "--armor", "--export", trustedFingerprint));
        _repo.Write("app.yaml", "v: 1");
        var good = _repo.SignedCommit("signed with gpg", trustedSigning);
        await using var git = Harness(("verify:gpgKeysFile", keysFile));

        var manifest = await git.SyncAsync();
        _repo.Write("app.yaml", "v: 2");
        var bad = _repo.SignedCommit("signed with another key", otherSigning);
        var e = await Assert.ThrowsAsync<RevisionRejectedException>(() => git.SyncAsync());

        Assert.Equal(good, manifest!.Revision);
        Assert.Equal($"commit {good[..12]} (HEAD) signed by OpenPGP key {trustedFingerprint}", manifest.Details["signature"]);
        Assert.Equal(bad, e.Revision);
        Assert.Equal($"commit {bad[..12]} (HEAD): signed by OpenPGP key {otherFingerprint[^16..]}, which is not in verify.gpgKeysFile", e.Reason);
        Assert.Equal("v: 1", git.Read("app.yaml"));
    }

    [Fact]
    public async Task SshSignature_WhenOnlyGpgKeysAreConfigured_IsRejectedNamingTheMissingSetting()
    {
        var (_, fingerprint) = GpgKey("trusted");
        var keysFile = _temp.Combine("trusted.gpg");
        File.WriteAllBytes(keysFile, Convert.FromHexString(Shell.Run("/", "sh", "-c", $"gpg --homedir {_temp.Combine("gpg-trusted")} --export {fingerprint} | od -An -tx1 -v | tr -d ' \\n'")));
        _repo.Write("app.yaml", "v: 1");
        _repo.SignedCommit("ssh signed", _trustedSsh);
        await using var git = Harness(("verify:gpgKeysFile", keysFile));

        var e = await Assert.ThrowsAsync<RevisionRejectedException>(() => git.SyncAsync());

        Assert.EndsWith("it carries an SSH signature but verify.allowedSignersFile is not set", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TagMode_SignedTagPublishes_UnsignedAndLightweightTagsAreRejected()
    {
        _repo.Write("app.yaml", "v: 1");
        var first = _repo.Commit("one");
        _repo.Git([.. _trustedSsh.SelectMany(c => new[] { "-c", c }), "tag", "-s", "-m", "release 1", "v1"]);
        _repo.Git("tag", "-a", "-m", "unsigned release", "v2");
        _repo.Git("tag", "v3");
        _repo.Git("push", "-q", "origin", "v1", "v2", "v3");

        await using var signed = Harness(("ref", "v1"), ("verify:mode", "tag"), ("verify:allowedSignersFile", _allowedSigners));
        var manifest = await signed.SyncAsync();
        await using var unsigned = SourceHarness.Create(Factory, _temp.Combine("v2"), Settings(("ref", "v2"), ("verify:mode", "tag"), ("verify:allowedSignersFile", _allowedSigners)));
        var unsignedError = await Assert.ThrowsAsync<RevisionRejectedException>(() => unsigned.SyncAsync());
        await using var lightweight = SourceHarness.Create(Factory, _temp.Combine("v3"), Settings(("ref", "v3"), ("verify:mode", "tag"), ("verify:allowedSignersFile", _allowedSigners)));
        var lightweightError = await Assert.ThrowsAsync<RevisionRejectedException>(() => lightweight.SyncAsync());

        Assert.Equal(first, manifest!.Revision);
        Assert.Equal("tag v1 signed by SSH key of alice@example.com", manifest.Details["signature"]);
        Assert.Equal("tag v2 is not signed; source.verify publishes only objects signed by a key in verify.allowedSignersFile", unsignedError.Reason);
        Assert.Equal("refs/tags/v3 is not an annotated tag; verify.mode: tag publishes only signed annotated tags", lightweightError.Reason);
    }

    [Fact]
    public void Settings_VerifyWithoutKeys_OrTagModeWithoutARef_AreNamedErrors()
    {
        var errors = new List<string>();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["url"] = _repo.FileUrl, ["verify:mode"] = "tag" })
            .Build();

        Factory.ReadOptions(new Configuration.SettingsReader(configuration, "source", errors), "/");

        Assert.Contains("source.verify.allowedSignersFile: set verify.allowedSignersFile (SSH signatures), verify.gpgKeysFile (OpenPGP signatures), or both", errors);
        Assert.Contains("source.verify.mode: 'tag' needs source.ref to name a tag", errors);
    }

    /// <summary>Makes an ed25519 OpenPGP signing key in its own home; returns git's signing settings and the fingerprint.</summary>
    private (string[] Signing, string Fingerprint) GpgKey(string name)
    {
        var home = _temp.Combine("gpg-" + name);
        Directory.CreateDirectory(home);
        File.SetUnixFileMode(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Shell.Run("/", "gpg", "--homedir", home, "--batch", "--passphrase", string.Empty, "--quick-gen-key", $"{name} <{name}@example.com>", "ed25519", "sign", "never");
        var fingerprint = Shell.Run("/", "gpg", "--homedir", home, "--with-colons", "--list-keys")
            .Split('\n').First(l => l.StartsWith("fpr:", StringComparison.Ordinal)).Split(':')[9];
        var program = _temp.Combine($"gpg-{name}.sh");
        File.WriteAllText(program, $"#!/bin/sh\nexec gpg --homedir '{home}' \"$@\"\n");
        File.SetUnixFileMode(program, (UnixFileMode)Convert.ToInt32("755", 8));
        return (["gpg.format=openpgp", "gpg.program=" + program, "user.signingkey=" + fingerprint], fingerprint);
    }

    private Dictionary<string, string?> Settings(params (string Key, string Value)[] extra) => _repo.SourceSettings(extra);

    private SourceHarness Harness(params (string Key, string Value)[] extra) => SourceHarness.Create(Factory, Root, Settings(extra));
}
