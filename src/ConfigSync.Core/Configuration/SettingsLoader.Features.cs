namespace ConfigSync.Configuration;

/// <summary>The optional features of a sync: pre-publish checks (<c>validate</c>), SOPS decryption (<c>decrypt</c>), push webhooks (<c>webhook</c>) and the store <c>configsync publish</c> writes to (<c>publish</c>).</summary>
public static partial class SettingsLoader
{
    private static PublishSettings? ReadPublish(SettingsReader reader, Dictionary<string, Sources.ISourceFactory> factories, string baseDirectory)
    {
        var type = reader.RequiredString("type").ToLowerInvariant();
        var grace = reader.Duration("gracePeriod", PublishSettings.DefaultGracePeriod);
        if (grace > PublishSettings.LongestGracePeriod)
        {
            reader.Error("gracePeriod", $"must be at most {DurationParser.Format(PublishSettings.LongestGracePeriod)} (readers of an index finish within minutes)");
        }

        if (type.Length == 0)
        {
            reader.KnownAll();
            return null;
        }

        if (!factories.TryGetValue(type, out var factory) || type is not ("s3" or "azureblob"))
        {
            reader.Error("type", $"'{type}' is not one of: azureblob, s3 (the stores a tree can be published into)");
            reader.KnownAll();
            return null;
        }

        var options = factory.ReadOptions(reader, baseDirectory);
        return new PublishSettings(type, factory, options, factory.IndexOf(options) ?? Sources.IndexKey.Default, grace);
    }

    private static CheckSettings ReadCheck(SettingsReader reader, string baseDirectory)
    {
        var type = reader.Choice("type", string.Empty, "json", "yaml", "jsonschema", "exec");
        if (type.Length == 0 && !reader.Has("type"))
        {
            reader.Error("type", "is required (json, yaml, jsonSchema or exec)");
        }

        var kind = type switch
        {
            "yaml" => CheckType.Yaml,
            "jsonschema" => CheckType.JsonSchema,
            "exec" => CheckType.Exec,
            _ => CheckType.Json,
        };
        var files = reader.List("files", CheckSettings.DefaultFiles(kind));
        var schema = reader.String("schema");
        var command = reader.List("command", CheckSettings.Defaults.Command);
        var timeout = reader.Duration("timeout", CheckSettings.Defaults.Timeout, TimeSpan.FromMilliseconds(10));
        if (kind == CheckType.JsonSchema && schema is null)
        {
            reader.Error("schema", "is required for a jsonSchema check (a path inside the tree, or an absolute path)");
        }

        if (kind == CheckType.JsonSchema && files.Count == 0)
        {
            reader.Error("files", "is required for a jsonSchema check: the files the schema applies to");
        }

        if (kind == CheckType.Exec && command.Count == 0)
        {
            reader.Error("command", "is required for an exec check: the program and its arguments, as a list");
        }

        if (kind != CheckType.JsonSchema && schema is not null)
        {
            reader.Error("schema", "is only used by a jsonSchema check");
        }

        if (kind != CheckType.Exec && command.Count > 0)
        {
            reader.Error("command", "is only used by an exec check");
        }

        if (files.Any(f => f.StartsWith('/') || f.Split('/').Contains("..")))
        {
            reader.Error("files", "patterns are paths inside the tree: no leading '/', no '..'");
        }

        return new CheckSettings
        {
            Type = kind,
            Files = files,
            Schema = schema is null || Path.IsPathRooted(schema) ? schema : schema.StartsWith("./", StringComparison.Ordinal) ? schema[2..] : schema,
            Command = command,
            Timeout = timeout,
        };
    }

    private static DecryptSettings ReadDecrypt(SettingsReader reader, string baseDirectory)
    {
        var sops = reader.Section("sops");
        string? FullPath(string key) => sops.String(key) is { } path ? Path.GetFullPath(path, baseDirectory) : null;
        var age = FullPath("ageKeyFile");
        var gpgKeys = FullPath("gpgKeysFile");
        var gpgHome = FullPath("gpgHome");
        var files = sops.List("files", SopsSettings.DefaultFiles);
        if (!reader.IsSection("sops"))
        {
            reader.Error("sops", "is required: decrypt.sops.ageKeyFile, gpgKeysFile or gpgHome, and optionally files");
        }
        else if (age is null && gpgKeys is null && gpgHome is null)
        {
            sops.Error("ageKeyFile", "or gpgKeysFile or gpgHome is required: the keys that open the files");
        }

        if (gpgKeys is not null && gpgHome is not null)
        {
            sops.Error("gpgHome", "and gpgKeysFile are alternatives: a keyring of the daemon's own made from the exported keys, or an existing GnuPG home");
        }

        if (files.Any(f => f.StartsWith('/') || f.Split('/').Contains("..")))
        {
            sops.Error("files", "patterns are paths inside the tree: no leading '/', no '..'");
        }

        return new DecryptSettings
        {
            Sops = new SopsSettings { AgeKeyFile = age, GpgKeysFile = gpgKeys, GpgHome = gpgHome, Files = files.Count == 0 ? SopsSettings.DefaultFiles : files },
            AllowDiskTarget = reader.Bool("allowDiskTarget", false),
        };
    }

    private static WebhookSettings ReadWebhook(SettingsReader reader, string baseDirectory)
    {
        var secret = reader.RequiredString("secretFile");
        var header = reader.String("signatureHeader", WebhookSettings.Defaults.SignatureHeader)!;
        if (!header.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            reader.Error("signatureHeader", $"'{header}' is not an HTTP header name");
        }

        return new WebhookSettings
        {
            SecretFile = secret.Length == 0 ? string.Empty : Path.GetFullPath(secret, baseDirectory),
            SignatureHeader = header,
            MaxBodySize = reader.Bytes("maxBodySize", WebhookSettings.Defaults.MaxBodySize),
        };
    }
}
