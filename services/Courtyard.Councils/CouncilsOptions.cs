namespace Courtyard.Councils;

/// <summary>Configuration section "Courtyard:Councils".</summary>
public sealed class CouncilsOptions
{
    public const string Section = "Courtyard:Councils";

    /// <summary>Where the portal shows a notice; a printed notice's QR code links to "&lt;base&gt;/&lt;courtyard&gt;/&lt;notice&gt;?h=&lt;hash prefix&gt;".</summary>
    public string PublicNoticeBaseUrl { get; set; } = "http://127.0.0.1:5180/notices";
}
