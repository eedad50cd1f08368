using System.Globalization;
using System.Text.RegularExpressions;

namespace ConfigSync.Publishing;

/// <summary><c>root/link -> .configsync/trees/&lt;rev12&gt;-&lt;seq&gt;</c>, the live link replaced by rename(2).</summary>
internal sealed partial class LinkLayout(VolumePaths paths, string linkName) : IPublishLayout
{
    private long _sequence = -1;

    public string LivePath => Path.Combine(paths.Root, linkName);

    public string? ReservedName(string topLevelName) => null;

    [GeneratedRegex("^[a-z0-9]{1,12}-([0-9]+)\\z", RegexOptions.CultureInvariant)]
    private static partial Regex TreeName();

    public string NewTreeId(string revision, DateTimeOffset now)
    {
        if (_sequence < 0)
        {
            _sequence = TreeIds().Select(id => long.Parse(TreeName().Match(id).Groups[1].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();
        }

        var rev = new string(revision.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).Take(12).ToArray());
        return $"{(rev.Length == 0 ? "rev" : rev)}-{++_sequence}";
    }

    public string TreePath(string treeId) => Path.Combine(paths.Trees, treeId);

    public string TreesFolder => ".configsync/trees";

    public bool IsTreeId(string treeId) => TreeName().IsMatch(treeId);

    public string? LiveTreeId()
    {
        var target = FileSystem.ReadLink(LivePath);
        const string Prefix = ".configsync/trees/";
        if (target is null || !target.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var id = target[Prefix.Length..];
        return TreeName().IsMatch(id) ? id : null;
    }

    public IEnumerable<string> TreeIds() =>
        Directory.Exists(paths.Trees)
            ? Directory.EnumerateDirectories(paths.Trees).Select(Path.GetFileName).Where(n => n is not null && TreeName().IsMatch(n)).Select(n => n!)
            : [];

    public void CheckTarget()
    {
        var info = new FileInfo(LivePath);
        if (info.LinkTarget is null && (info.Exists || Directory.Exists(LivePath)))
        {
            throw new PublishException($"target.link: '{LivePath}' exists and is not a symbolic link; ConfigSync will not replace it");
        }
    }

    public void Swap(VolumeFolder root, VolumeFolder scratch, string treeId, Manifest manifest, Manifest? previous) =>
        root.SwapLink(linkName, $".configsync/trees/{treeId}", scratch);
}
