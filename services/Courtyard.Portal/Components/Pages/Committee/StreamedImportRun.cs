using Microsoft.AspNetCore.Components;

namespace Courtyard.Portal.Components.Pages.Committee;

/// <summary>The import run with streaming rendering: each progress message reaches the browser as it happens.</summary>
[StreamRendering]
public sealed class StreamedImportRun : ImportRun;
