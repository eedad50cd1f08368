namespace ConfigSync.IntegrationTests.Support;

/// <summary>The tests that run containers, one at a time (each starts the image or a pod; two cores).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ContainerCollection
{
    public const string Name = "containers";
}
