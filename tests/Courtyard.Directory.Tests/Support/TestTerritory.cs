using Courtyard.Common.V1;
using Courtyard.Directory.V1;
using Courtyard.Testing.Authorization;

namespace Courtyard.Directory.Tests.Support;

/// <summary>Two streets: street A with community A1 holding the own and a sibling courtyard; street B with another courtyard.</summary>
public static class TestTerritory
{
    public static async Task<MatrixTerritory> CreateAsync(DirectoryTestHost host, string adminToken)
    {
        var client = host.Client();
        var headers = DirectoryTestHost.Bearer(adminToken);
        async Task<string> Create(string parent, TerritoryLevel level, string name) =>
            (await client.CreateTerritoryNodeAsync(new CreateTerritoryNodeRequest
            {
                RequestId = Guid.NewGuid().ToString("N"), ParentId = parent, Level = level, Name = new LocalizedText { ZhCn = name },
            }, headers)).Id;

        string streetA = await Create("", TerritoryLevel.Street, "东华门街道" + Guid.NewGuid().ToString("N")[..6]);
        string communityA = await Create(streetA, TerritoryLevel.Community, "多福巷社区");
        string own = await Create(communityA, TerritoryLevel.Courtyard, "银闸胡同院");
        string sibling = await Create(communityA, TerritoryLevel.Courtyard, "北池子院");
        string streetB = await Create("", TerritoryLevel.Street, "景山街道" + Guid.NewGuid().ToString("N")[..6]);
        string communityB = await Create(streetB, TerritoryLevel.Community, "吉祥社区");
        string other = await Create(communityB, TerritoryLevel.Courtyard, "黄化门院");
        return new MatrixTerritory(streetA, communityA, own, sibling, other);
    }
}
