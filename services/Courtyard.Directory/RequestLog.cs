namespace Courtyard.Directory;

/// <summary>
/// The request ids a grain has handled, with what it answered (an id), so a retried request answers the same and
/// changes nothing (proto/courtyard/README.md: every mutating request carries request_id). Keeps the newest
/// <see cref="Capacity"/>: a retry comes within minutes, not after thousands of other changes.
/// </summary>
[GenerateSerializer]
public sealed class RequestLog
{
    public const int Capacity = 2_000;

    [Id(0)] public List<KeyValuePair<string, string>> Entries { get; set; } = [];

    public bool TryGet(string requestId, out string result)
    {
        foreach (var entry in Entries)
        {
            if (entry.Key == requestId)
            {
                result = entry.Value;
                return true;
            }
        }
        result = "";
        return false;
    }

    public void Add(string requestId, string result)
    {
        if (requestId.Length == 0)
        {
            return;
        }
        Entries.Add(new(requestId, result));
        if (Entries.Count > Capacity)
        {
            Entries.RemoveRange(0, Entries.Count - Capacity);
        }
    }
}
