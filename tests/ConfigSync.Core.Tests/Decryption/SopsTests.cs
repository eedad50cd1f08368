using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using ConfigSync.Decryption;
using ConfigSync.IntegrationTests.Support;
using ConfigSync.Tests.TestSupport;
using static ConfigSync.Tests.TestSupport.SopsWriter;

namespace ConfigSync.Tests.Decryption;

/// <summary>
/// SOPS decryption against files the real tools helped make: identities from age-keygen, data keys encrypted by the
/// age and gpg programs, values and MAC by the tests' own encryptor (<see cref="SopsWriter"/>), and the same files
/// decrypted by sops-age (an independent implementation) so that both sides agree on what SOPS means. Every refusal
/// is checked to name its reason and never a value.
/// </summary>
public sealed class SopsTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly (string KeyFile, string Recipient, string Secret) _key;
    private readonly (string KeyFile, string Recipient, string Secret) _other;

    public SopsTests()
    {
        _key = NewAgeIdentity(_temp.Path, "key.txt");
        _other = NewAgeIdentity(_temp.Path, "other.txt");
    }

    /// <summary>A document with nested maps, a list of scalars and of maps, comments, every value type.</summary>
    private static List<KeyValuePair<string, object?>> Document() => Map(
        ("note", new SopsTestComment(" database credentials")),
        ("database", Map(
            ("user", Captured.Secret("app-user-7f3a")),
            ("password", Captured.Secret("hunter2-c0ffee-91b")),
            ("port", 5432L),
            ("ratio", 0.75),
            ("enabled", true),
            ("disabled", false),
            ("empty", string.Empty),
            ("nothing", null),
            ("certificate", Captured.Secret("-----BEGIN CERT-----\nMIIB-line-two-5e1\n-----END CERT-----")))),
        ("hosts", new List<object?> { "db-1.internal", "db-2.internal", 3L }),
        ("replicas", new List<object?> { Map(("name", "r1"), ("token", Captured.Secret("replica-token-0a9d"))), Map(("name", "r2"), ("token", Captured.Secret("replica-token-8b2e"))) }),
        ("public_unencrypted", "shown-as-is"));

    [Fact]
    public void AgeIdentities_AreReadFromAnAgeKeygenFile_AndGiveItsRecipient()
    {
        var both = _temp.Combine("both.txt");
        File.WriteAllText(both, File.ReadAllText(_key.KeyFile) + "\n" + File.ReadAllText(_other.KeyFile));

        var identities = AgeIdentity.ParseFile(File.ReadAllText(both), "keys");

        Assert.Equal([_key.Recipient, _other.Recipient], identities.Select(i => i.Recipient));
    }

    [Theory]
    [InlineData("AGE-PLUGIN-YUBIKEY-1QQQQQ", "line 1: not an age X25519 identity")]
    [InlineData("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ", "line 1: not a valid age identity")]
    [InlineData("# only a comment\n\n", "holds no age identity")]
    public void AgeKeyFiles_ThatAreNotIdentities_AreRefusedByLine_NeverQuoted(string text, string expected)
    {
        var error = Assert.Throws<SopsException>(() => AgeIdentity.ParseFile(text, "decrypt.sops.ageKeyFile /keys/age.txt"));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("decrypt.sops.ageKeyFile /keys/age.txt", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("QQQQ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(100, true)]
    [InlineData(65536, false)]
    [InlineData(200_000, true)]
    public void AgeFiles_MadeByTheAgeProgram_Decrypt_ArmoredOrNot_OneChunkOrMany(int size, bool armor)
    {
        var plaintext = new byte[size];
        Random.Shared.NextBytes(plaintext);
        var file = AgeEncrypt(plaintext, armor, _other.Recipient, _key.Recipient);

        var identities = AgeIdentity.ParseFile(File.ReadAllText(_key.KeyFile), "key");

        Assert.Equal(plaintext, Age.Decrypt(file, identities));
    }

    [Fact]
    public void AgeFiles_ForAnotherIdentity_OrChanged_AreRefused()
    {
        var plaintext = Encoding.UTF8.GetBytes("a data key of thirty-two bytes!!");
        var file = AgeEncrypt(plaintext, armor: false, _other.Recipient);
        var mine = AgeIdentity.ParseFile(File.ReadAllText(_key.KeyFile), "key");
        var theirs = AgeIdentity.ParseFile(File.ReadAllText(_other.KeyFile), "other");

        Assert.Contains("no configured identity", Assert.Throws<SopsException>(() => Age.Decrypt(file, mine)).Message, StringComparison.Ordinal);
        var payload = (byte[])file.Clone();
        payload[^5] ^= 1;
        Assert.Contains("authentication failed", Assert.Throws<SopsException>(() => Age.Decrypt(payload, theirs)).Message, StringComparison.Ordinal);
        // A header changed after the stanza (grease appended before the MAC line) no longer matches the header MAC.
        var text = Encoding.Latin1.GetString(file);
        var header = Encoding.Latin1.GetBytes(text.Replace("\n--- ", "\n-> grease\n\n--- ", StringComparison.Ordinal));
        Assert.Contains("header: MAC mismatch", Assert.Throws<SopsException>(() => Age.Decrypt(header, theirs)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Yaml_WithNestedMapsListsCommentsAndEveryType_DecryptsToThePlaintext_AsSopsAgeDoes()
    {
        var writer = new SopsWriter { AgeRecipients = [_other.Recipient, _key.Recipient] };
        var file = _temp.Combine("secrets.yaml");
        File.WriteAllText(file, writer.Yaml(Document()));

        var plain = Encoding.UTF8.GetString((await DecryptAsync(file, _key.KeyFile))!);

        var expected = Expected(Document());
        Assert.True(JsonNode.DeepEquals(expected, Yaml.Load(plain)), plain);
        Assert.Contains("# database credentials", plain, StringComparison.Ordinal);
        Assert.DoesNotContain("sops", plain, StringComparison.Ordinal);
        Assert.DoesNotContain("ENC[", plain, StringComparison.Ordinal);
        Assert.True(JsonNode.DeepEquals(expected, await SopsAgeAsync(file, "yaml", _key.Secret)), "sops-age reads the file otherwise");
    }

    [Fact]
    public async Task Json_DecryptsToThePlaintext_AsSopsAgeDoes()
    {
        var writer = new SopsWriter { AgeRecipients = [_key.Recipient] };
        var file = _temp.Combine("secrets.json");
        File.WriteAllText(file, writer.Json(Document()));

        var plain = JsonNode.Parse(Encoding.UTF8.GetString((await DecryptAsync(file, _key.KeyFile))!));

        Assert.True(JsonNode.DeepEquals(Expected(Document()), plain), plain!.ToJsonString());
        Assert.True(JsonNode.DeepEquals(Expected(Document()), await SopsAgeAsync(file, "json", _key.Secret)));
    }

    [Fact]
    public async Task Dotenv_DecryptsToThePlaintext_AsSopsAgeDoes()
    {
        var document = Map(("# comment", new SopsTestComment(" app settings")), ("DB_PASSWORD", Captured.Secret("env-secret-4d1c")), ("MULTI", Captured.Secret("line-one-6a\nline-two-6b")), ("EMPTY", string.Empty), ("MODE_unencrypted", "debug"));
        var writer = new SopsWriter { AgeRecipients = [_key.Recipient] };
        var file = _temp.Combine("app.env");
        File.WriteAllText(file, writer.Dotenv(document));

        var plain = Encoding.UTF8.GetString((await DecryptAsync(file, _key.KeyFile))!);

        Assert.Equal("# app settings\nDB_PASSWORD=env-secret-4d1c\nMULTI=line-one-6a\\nline-two-6b\nEMPTY=\nMODE_unencrypted=debug\n", plain);
        var independent = await SopsAgeAsync(file, "env", _key.Secret);
        Assert.Equal("env-secret-4d1c", (string?)independent!["DB_PASSWORD"]);
        Assert.Equal("line-one-6a\nline-two-6b", (string?)independent["MULTI"]);
    }

    [Fact]
    public async Task Ini_DecryptsToThePlaintext()
    {
        var document = Map(("database", Map(("password", Captured.Secret("ini-secret-2f7e")), ("host_unencrypted", "db.internal"))), ("cache", Map(("token", Captured.Secret("ini-token-9c3b")))));
        var writer = new SopsWriter { AgeRecipients = [_key.Recipient] };
        var file = _temp.Combine("app.ini");
        File.WriteAllText(file, writer.Ini(document));

        var plain = Encoding.UTF8.GetString((await DecryptAsync(file, _key.KeyFile))!);

        Assert.Equal("[database]\npassword = ini-secret-2f7e\nhost_unencrypted = db.internal\n\n[cache]\ntoken = ini-token-9c3b\n\n", plain);
    }

    [Fact]
    public async Task BinaryFiles_DecryptToTheirBytes()
    {
        var content = Encoding.UTF8.GetBytes(Captured.Secret("-----BEGIN PRIVATE KEY-----\nbinary-secret-77e0\n-----END PRIVATE KEY-----\n"));
        var writer = new SopsWriter { AgeRecipients = [_key.Recipient] };
        var file = _temp.Combine("tls.key");
        File.WriteAllText(file, writer.Binary(content));

        Assert.Equal(content, await DecryptAsync(file, _key.KeyFile));
    }

    [Fact]
    public async Task OpenPgp_ThroughGpg_WithAKeyringMadeFromTheExportedKeys()
    {
        var (fingerprint, secretKeys) = NewGpgKey(_temp.Combine("maker-gnupg"), _temp.Path);
        var writer = new SopsWriter { PgpFingerprints = [fingerprint], GpgHome = _temp.Combine("maker-gnupg") };
        var file = _temp.Combine("pgp.yaml");
        File.WriteAllText(file, writer.Yaml(Document()));
        var state = Directory.CreateDirectory(_temp.Combine("state")).FullName;

        var source = await GpgKeySource.CreateAsync(secretKeys, null, state, CancellationToken.None);
        var plain = await new SopsDecryptor([source]).DecryptAsync(file, await File.ReadAllBytesAsync(file), CancellationToken.None);

        Assert.True(JsonNode.DeepEquals(Expected(Document()), Yaml.Load(Encoding.UTF8.GetString(plain!))));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(state, "gnupg")));
    }

    [Fact]
    public async Task AFileWithoutSopsMetadata_IsNotDecrypted()
    {
        var file = _temp.Combine("plain.yaml");
        File.WriteAllText(file, "a: 1\nsops_like: true\n");

        Assert.Null(await DecryptAsync(file, _key.KeyFile));
    }

    [Fact]
    public async Task AFileForOtherKeysOnly_IsRefused_NamingItsRecipients()
    {
        var writer = new SopsWriter { AgeRecipients = [_other.Recipient] };
        var file = _temp.Combine("other.yaml");
        File.WriteAllText(file, writer.Yaml(Document()));

        var error = await Assert.ThrowsAsync<SopsException>(() => DecryptAsync(file, _key.KeyFile));

        Assert.Contains("no configured age key opens it", error.Message, StringComparison.Ordinal);
        Assert.Contains(_other.Recipient, error.Message, StringComparison.Ordinal);
        AssertNoSecret(error.Message);
    }

    public static TheoryData<string, string> Tampering => new()
    {
        // Another value encrypted for the same key and path: it decrypts, but the MAC no longer matches.
        { "value replaced", "MAC mismatch" },
        // Two encrypted values swapped: each fails authentication under the other's path.
        { "values swapped", "authentication failed" },
        { "key removed", "MAC mismatch" },
        { "mac replaced", "MAC mismatch" },
        { "unencrypted value changed", "MAC mismatch" },
        { "lastmodified changed", "MAC mismatch" },
        { "type changed", "is not of type int" },
        { "value made plain", "not an encrypted value" },
        { "unknown type", "unknown type 'weird'" },
    };

    [Theory]
    [MemberData(nameof(Tampering))]
    public async Task ATamperedFile_IsRefusedByReason_NeverQuotingAValue(string change, string expected)
    {
        var writer = new SopsWriter { AgeRecipients = [_key.Recipient] };
        var lines = writer.Yaml(Document()).Split('\n').ToList();
        int Line(string key) => lines.FindIndex(l => l.TrimStart().StartsWith(key + ":", StringComparison.Ordinal));
        string Value(int line) => lines[line][(lines[line].IndexOf(": ", StringComparison.Ordinal) + 2)..];
        void Set(int line, string value) => lines[line] = lines[line][..(lines[line].IndexOf(": ", StringComparison.Ordinal) + 2)] + value;
        var password = Line("password");
        var user = Line("user");
        switch (change)
        {
            case "value replaced": Set(password, writer.EncryptValue("not-the-password", "database:password:")); break;
            case "values swapped": (var a, var b) = (Value(password), Value(user)); Set(password, b); Set(user, a); break;
            case "key removed": lines.RemoveAt(Line("port")); break;
            case "mac replaced": Set(Line("mac"), writer.EncryptValue(new string('A', 128), writer.LastModified)); break;
            case "unencrypted value changed": Set(Line("public_unencrypted"), "\"changed\""); break;
            case "lastmodified changed": Set(Line("lastmodified"), "2026-11-30T10:20:31Z"); break;
            case "type changed": Set(password, Value(password).Replace("type:str", "type:int", StringComparison.Ordinal)); break;
            case "value made plain": Set(password, "\"hunter2-in-the-clear\""); break;
            case "unknown type": Set(password, writer.EncryptValue("x", "database:password:").Replace("type:str", "type:weird", StringComparison.Ordinal)); break;
        }

        var file = _temp.Combine("tampered.yaml");
        File.WriteAllText(file, string.Join('\n', lines));

        var error = await Assert.ThrowsAsync<SopsException>(() => DecryptAsync(file, _key.KeyFile));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        AssertNoSecret(error.Message);
        Assert.DoesNotContain("hunter2-in-the-clear", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EncryptedRegex_LeavesOtherValuesPlain_AndTheMacStillCoversThem()
    {
        var writer = new SopsWriter { AgeRecipients = [_key.Recipient], EncryptedRegex = "^(password|token)$" };
        var text = writer.Yaml(Document());
        Assert.Contains("user: \"app-user-7f3a\"", text, StringComparison.Ordinal); // plain in the file
        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        var file = _temp.Combine("regex.yaml");
        File.WriteAllText(file, text);

        Assert.True(JsonNode.DeepEquals(Expected(Document()), Yaml.Load(Encoding.UTF8.GetString((await DecryptAsync(file, _key.KeyFile))!))));
        File.WriteAllText(file, text.Replace("app-user-7f3a", "app-user-evil", StringComparison.Ordinal));
        Assert.Contains("MAC mismatch", (await Assert.ThrowsAsync<SopsException>(() => DecryptAsync(file, _key.KeyFile))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MacOnlyEncrypted_CoversOnlyTheEncryptedValues_AsSopsDefinesIt()
    {
        var writer = new SopsWriter { AgeRecipients = [_key.Recipient], MacOnlyEncrypted = true };
        var text = writer.Yaml(Document());
        var file = _temp.Combine("maconly.yaml");
        File.WriteAllText(file, text.Replace("shown-as-is", "changed-in-the-clear", StringComparison.Ordinal));

        var plain = Yaml.Load(Encoding.UTF8.GetString((await DecryptAsync(file, _key.KeyFile))!));

        Assert.Equal("changed-in-the-clear", (string?)plain!["public_unencrypted"]);
        Assert.Equal("hunter2-c0ffee-91b", (string?)plain["database"]!["password"]);
        // Without the setting, the same file fails: the plain value was part of the MAC.
        File.WriteAllText(file, text.Replace("mac_only_encrypted: true", "mac_only_encrypted: false", StringComparison.Ordinal));
        Assert.Contains("MAC mismatch", (await Assert.ThrowsAsync<SopsException>(() => DecryptAsync(file, _key.KeyFile))).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("key_groups", "unsupported: Shamir key groups")]
    [InlineData("no mac", "no MAC")]
    [InlineData("two rules", "more than one of")]
    public async Task UnsupportedMetadata_IsRefusedByName(string change, string expected)
    {
        var writer = new SopsWriter { AgeRecipients = [_key.Recipient] };
        var text = writer.Yaml(Document());
        text = change switch
        {
            "key_groups" => text.Replace("    age:\n", "    shamir_threshold: 2\n    key_groups:\n        - age: []\n        - age: []\n    age:\n", StringComparison.Ordinal),
            "no mac" => string.Join('\n', text.Split('\n').Where(l => !l.StartsWith("    mac:", StringComparison.Ordinal))),
            _ => text.Replace("    unencrypted_suffix: \"_unencrypted\"\n", "    unencrypted_suffix: \"_unencrypted\"\n    encrypted_regex: ^password$\n", StringComparison.Ordinal),
        };
        var file = _temp.Combine("unsupported.yaml");
        File.WriteAllText(file, text);

        var error = await Assert.ThrowsAsync<SopsException>(() => DecryptAsync(file, _key.KeyFile));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("literal")]
    [InlineData("symmetric")]
    public async Task AnOpenPgpMessageThatIsNotEncryptedToAKeyOfTheKeyring_IsNotADataKey(string kind)
    {
        // gpg "decrypts" (exit 0) an unencrypted literal message: it would hand an attacker's chosen bytes to the decryptor
        // as the data key. A symmetric message is no public-key decryption either.
        var (fingerprint, secretKeys) = NewGpgKey(_temp.Combine("maker-gnupg"), _temp.Path);
        var writer = new SopsWriter { PgpFingerprints = [fingerprint], GpgHome = _temp.Combine("maker-gnupg") };
        var document = JsonNode.Parse(writer.Json(Map(("password", Captured.Secret("pgp-forged-3e9a1c")))))!;
        var dataKey = _temp.Combine("data.key");
        File.WriteAllBytes(dataKey, writer.DataKey);
        string[] arguments = kind == "literal"
            ? ["--batch", "--homedir", _temp.Combine("maker-gnupg"), "--armor", "--store", "--output", "-", dataKey]
            : ["--batch", "--homedir", _temp.Combine("maker-gnupg"), "--pinentry-mode", "loopback", "--passphrase", "x", "--armor", "--symmetric", "--output", "-", dataKey];
        document["sops"]!["pgp"]![0]!["enc"] = Tool(null, "gpg", arguments);
        var file = _temp.Combine("forged.json");
        File.WriteAllText(file, document.ToJsonString());
        var source = await GpgKeySource.CreateAsync(secretKeys, null, Directory.CreateDirectory(_temp.Combine("state")).FullName, CancellationToken.None);

        var error = await Assert.ThrowsAsync<SopsException>(() => new SopsDecryptor([source]).DecryptAsync(file, File.ReadAllBytes(file), CancellationToken.None));

        Assert.Contains("no configured pgp key opens it", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task YamlStrings_ThatAnotherTypeCouldReadThemAs_AreQuoted()
    {
        string[] values = ["123", "true", "null", "yes", "on", "0777", "1_000", "2024-01-01", ".inf", " padded", "~", "plain-word"];
        var writer = new SopsWriter { AgeRecipients = [_key.Recipient] };
        var file = _temp.Combine("strings.yaml");
        File.WriteAllText(file, writer.Yaml([.. values.Select((v, i) => KeyValuePair.Create<string, object?>($"k{i}", v))]));

        var plain = Encoding.UTF8.GetString((await DecryptAsync(file, _key.KeyFile))!);

        foreach (var (value, i) in values.Select((v, i) => (v, i)))
        {
            Assert.Contains(value == "plain-word" ? $"k{i}: plain-word\n" : $"k{i}: \"{value}\"\n", plain, StringComparison.Ordinal);
        }
    }

    public static TheoryData<string, string, string> Structure => new()
    {
        // What the MAC does not cover (keys, structure) may not be used to change what is published.
        { "secrets.yaml", "duplicate key", "a key appears twice" },
        { "secrets.yaml", "anchor", "unsupported: YAML anchors" },
        { "secrets.yaml", "merge key", "unsupported: YAML merge keys" },
        { "secrets.yaml", "second sops block", "more than one sops block" },
        { "secrets.json", "duplicate key", "a key appears twice" },
        { "app.env", "duplicate key", "a key appears twice" },
        { "app.ini", "duplicate section", "a section appears twice" },
        { "secrets.yaml", "broken syntax", "it holds SOPS values but does not read as Yaml" },
        { "secrets.yaml", "short tag", "a 4-byte tag" },
        { "secrets.json", "age entry not a map", "an entry that is not a map" },
    };

    [Theory]
    [MemberData(nameof(Structure))]
    public async Task StructureTheMacDoesNotCover_AndMalformedFiles_AreRefused(string name, string change, string expected)
    {
        var writer = new SopsWriter { AgeRecipients = [_key.Recipient] };
        var document = Map(("password", Captured.Secret("structure-secret-51f0")), ("user_unencrypted", "admin"));
        var text = Path.GetExtension(name) switch
        {
            ".yaml" => writer.Yaml(document),
            ".json" => writer.Json(document),
            ".env" => writer.Dotenv(document),
            _ => writer.Ini(Map(("db", document))),
        };
        text = change switch
        {
            "duplicate key" when name.EndsWith(".json", StringComparison.Ordinal) => text.Replace("\"user_unencrypted\": \"admin\"", "\"user_unencrypted\": \"admin\", \"user_unencrypted\": \"root\"", StringComparison.Ordinal),
            "duplicate key" when name.EndsWith(".env", StringComparison.Ordinal) => text + "user_unencrypted=root\n",
            "duplicate key" => "user_unencrypted: \"root\"\n" + text,
            "anchor" => text.Replace("user_unencrypted: \"admin\"", "user_unencrypted: &a \"admin\"\nalso_unencrypted: *a", StringComparison.Ordinal),
            "merge key" => "<<: {extra_unencrypted: x}\n" + text,
            "second sops block" => text + "---\nother: 1\nsops: {mac: x}\n",
            "duplicate section" => text + "[db]\nuser_unencrypted = root\n",
            "broken syntax" => text.Replace("user_unencrypted: \"admin\"", "user_unencrypted: [unclosed", StringComparison.Ordinal),
            "short tag" => System.Text.RegularExpressions.Regex.Replace(text, @"password: (""?)ENC\[([^\]]*),tag:[^,]+,", m => $"password: {m.Groups[1].Value}ENC[{m.Groups[2].Value},tag:AAAAAA==,"),
            "age entry not a map" => text.Replace("\"age\": [", "\"age\": [1, ", StringComparison.Ordinal),
            _ => throw new ArgumentException(change),
        };
        var file = _temp.Combine(name);
        File.WriteAllText(file, text);

        var error = await Assert.ThrowsAsync<SopsException>(() => DecryptAsync(file, _key.KeyFile));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        AssertNoSecret(error.Message);
        Assert.DoesNotContain("structure-secret-51f0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnEmptyDocumentAfterTheSopsOne_IsNoReasonToPublishTheFileEncrypted()
    {
        var writer = new SopsWriter { AgeRecipients = [_key.Recipient] };
        var file = _temp.Combine("trailing.yaml");
        File.WriteAllText(file, writer.Yaml(Map(("password", Captured.Secret("trailing-secret-0c2d")))) + "---\n");

        Assert.Equal("password: trailing-secret-0c2d\n", Encoding.UTF8.GetString((await DecryptAsync(file, _key.KeyFile))!));
    }

    public void Dispose() => _temp.Dispose();

    private static async Task<byte[]?> DecryptAsync(string file, string keyFile) =>
        await new SopsDecryptor([AgeKeySource.FromFile(keyFile)]).DecryptAsync(file, await File.ReadAllBytesAsync(file), CancellationToken.None);

    private static void AssertNoSecret(string message)
    {
        foreach (var secret in new[] { "app-user-7f3a", "hunter2-c0ffee-91b", "MIIB-line-two-5e1", "replica-token-0a9d", "AGE-SECRET-KEY" })
        {
            Assert.DoesNotContain(secret, message, StringComparison.Ordinal);
        }
    }

    /// <summary>The document as plain JSON: comments dropped, as YAML or JSON readers see the output.</summary>
    private static JsonNode? Expected(object? value) => value switch
    {
        List<KeyValuePair<string, object?>> map => new JsonObject(map.Where(i => i.Value is not SopsTestComment).Select(i => KeyValuePair.Create(i.Key, Expected(i.Value)))),
        List<object?> list => new JsonArray([.. list.Select(Expected)]),
        null => null,
        string s => JsonValue.Create(s),
        long l => JsonValue.Create(l),
        double d => JsonValue.Create(d),
        bool b => JsonValue.Create(b),
        _ => throw new ArgumentException(value.GetType().Name),
    };

    private byte[] AgeEncrypt(byte[] plaintext, bool armor, params string[] recipients)
    {
        var start = new ProcessStartInfo("age") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["--encrypt", .. armor ? new[] { "--armor" } : [], .. recipients.SelectMany(r => new[] { "-r", r })])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        using var output = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(output);
        process.StandardInput.BaseStream.Write(plaintext);
        process.StandardInput.Close();
        process.WaitForExit();
        copy.Wait();
        Assert.Equal(0, process.ExitCode);
        return output.ToArray();
    }

    /// <summary>What sops-age (tests/servers/sops-age-decrypt.mjs) makes of the file.</summary>
    private static async Task<JsonNode?> SopsAgeAsync(string file, string type, string secret)
    {
        var servers = Path.Combine(NodeServer.RepoRoot(), "tests", "servers");
        var start = new ProcessStartInfo("node") { WorkingDirectory = servers, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["sops-age-decrypt.mjs", file, type])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["SOPS_AGE_KEY"] = secret;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, await error);
        return JsonNode.Parse(await output);
    }
}
