using QRCoder;

namespace Courtyard.Portal.Components.UI;

/// <summary>QR codes for printed pages (QRCoder), as PNG data URIs that print sharply and need no second request.</summary>
public static class QrCodes
{
    public static string PngDataUri(string payload)
    {
        using var data = QRCodeGenerator.GenerateQrCode(payload, QRCodeGenerator.ECCLevel.M);
        byte[] png = new PngByteQRCode(data).GetGraphic(8);
        return $"data:image/png;base64,{Convert.ToBase64String(png)}";
    }

    public static string PngDataUri(Google.Protobuf.ByteString png) => $"data:image/png;base64,{png.ToBase64()}";
}
