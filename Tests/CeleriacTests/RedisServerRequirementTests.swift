import Celeriac
import Testing

/// Redis 6.2 or later, refused with a reason below that.
@Suite struct RedisServerRequirementTests {
    @Test(arguments: ["6.2.0", "6.2.14", "7.0.15", "7.2.4", "10.0", "8.0-m01", "unknown", ""])
    func acceptedVersions(version: String) {
        #expect(RedisServerRequirement.refusal(version: version, server: "redis://h:6379/0") == nil)
    }

    @Test(arguments: ["6.0.16", "5.0.14", "4.0.9", "6.1.9"])
    func refusedVersions(version: String) {
        let reason = RedisServerRequirement.refusal(version: version, server: "redis://h:6379/0")
        #expect(reason == "redis://h:6379/0 runs Redis \(version); Celeriac needs 6.2 or later (RPOP with a count, SET with GET)")
    }
}
