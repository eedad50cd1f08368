namespace ConfigSync.Publishing;

/// <summary>Where trees live and how the live one is pointed at (<c>link</c> or <c>kubelet</c> layout).</summary>
internal interface IPublishLayout
{
    /// <summary>A fresh, unused tree id for <paramref name="revision"/>.</summary>
    string NewTreeId(string revision, DateTimeOffset now);

    /// <summary>The folder of a tree.</summary>
    string TreePath(string treeId);

    /// <summary>The folder that holds the trees, relative to the root (<c>/</c> separators; empty for the root itself).</summary>
    string TreesFolder { get; }

    /// <summary>Whether <paramref name="treeId"/> is a name this layout gives its trees (one path segment, its exact pattern).</summary>
    bool IsTreeId(string treeId);

    /// <summary>The id of the live tree, or null when nothing (of ours) is live.</summary>
    string? LiveTreeId();

    /// <summary>The ids of every tree on the volume, live or not.</summary>
    IEnumerable<string> TreeIds();

    /// <summary>The path readers use for the live tree.</summary>
    string LivePath { get; }

    /// <summary>Why a name at the top of a tree belongs to the layout itself (the name is refused), or null when it is free.</summary>
    string? ReservedName(string topLevelName);

    /// <summary>Checks the target before anything is written; throws <see cref="PublishException"/> when it cannot be used.</summary>
    void CheckTarget();

    /// <summary>Makes <paramref name="treeId"/> live atomically; new links are made in <paramref name="scratch"/> and renamed into place.</summary>
    void Swap(VolumeFolder root, VolumeFolder scratch, string treeId, Manifest manifest, Manifest? previous);
}
