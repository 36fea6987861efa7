using Courtyard.Common.V1;
using Courtyard.Directory.Roll;
using Courtyard.Directory.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using QRCoder;

namespace Courtyard.Directory.Invitations;

/// <summary>Issues invitation codes and renders what a printed slip shows, QR code included (QRCoder, PNG).</summary>
public sealed class InvitationSlips(IGrainFactory grains, IOptions<DirectoryOptions> options, [FromKeyedServices(DirectoryOptions.ServiceName)] TimeProvider time)
{
    private const int MaxDraws = 8;

    public async Task<InvitationSlip> IssueAsync(HouseholdSnapshot household, int validDays, string actorId)
    {
        var expiresAt = time.GetUtcNow().AddDays(validDays);
        var target = new InvitationTarget(household.Courtyard.Id, household.Id, expiresAt, actorId);
        for (int draw = 0; draw < MaxDraws; draw++)
        {
            var code = InvitationCode.New();
            if (await grains.GetGrain<IInvitationGrain>(code.LookupId).IssueAsync(target, InvitationCode.HashSecret(code.Secret)))
            {
                string url = options.Value.Invitations.RedeemUrl.Replace("{code}", code.ToString(), StringComparison.Ordinal);
                return new InvitationSlip
                {
                    Code = code.ToString(),
                    HouseholdId = household.Id,
                    DoorLabel = household.Key.DoorLabel,
                    CourtyardName = new LocalizedText { ZhCn = household.Courtyard.NameZh, En = household.Courtyard.NameEn },
                    ExpiresAt = Timestamp.FromDateTimeOffset(expiresAt),
                    RedeemUrl = url,
                    QrPng = ByteString.CopyFrom(PngByteQRCodeHelper.GetQRCode(url, QRCodeGenerator.ECCLevel.M, 8)),
                };
            }
        }
        // 30 bits of lookup space: eight taken draws in a row does not happen unless something is wrong.
        throw new InvalidOperationException("Could not draw a free invitation code.");
    }
}
