namespace ConfigSync.Publishing;

/// <summary>The folders ConfigSync keeps under a target root (see the volume layout in the README).</summary>
internal sealed class VolumePaths
{
    public VolumePaths(string root, string syncName)
    {
        Root = root;
        State = Path.Combine(root, ".configsync");
        Trees = Path.Combine(State, "trees");
        Manifests = Path.Combine(State, "manifests");
        Staging = Path.Combine(State, "staging");
    }

    public string Root { get; }

    public string State { get; }

    public string Trees { get; }

    public string Manifests { get; }

    public string Staging { get; }

    public string ManifestOf(string treeId) => Path.Combine(Manifests, treeId + ".json");
}
