using System.Collections;

namespace ConfigSync.Tests.TestSupport;

/// <summary>Compares settings objects property by property, lists and maps item by item.</summary>
public static class SameValues
{
    /// <summary>Every public property of <paramref name="actual"/> equals <paramref name="expected"/>'s, but those named in <paramref name="except"/>.</summary>
    public static void Assert<T>(T expected, T actual, params string[] except)
    {
        foreach (var property in typeof(T).GetProperties().Where(p => !except.Contains(p.Name)))
        {
            var (want, got) = (property.GetValue(expected), property.GetValue(actual));
            var same = want is IEnumerable wanted and not string && got is IEnumerable gotten
                ? wanted.Cast<object>().SequenceEqual(gotten.Cast<object>())
                : Equals(want, got);
            Xunit.Assert.True(same, $"{typeof(T).Name}.{property.Name}: expected {want}, got {got}");
        }
    }
}
