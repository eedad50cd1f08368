using YamlDotNet.Core;

namespace ConfigSync.Validation;

/// <summary>YAML that passes a bound of <see cref="DocumentLimits"/>; <see cref="YamlException.Start"/> is where.</summary>
internal sealed class YamlLimitException(Mark start, Mark end, string message) : YamlException(start, end, message);
