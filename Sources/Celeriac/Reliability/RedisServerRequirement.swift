/// The Redis version Celeriac needs: 6.2, for `RPOP` with a count (the fetch script) and
/// `SET … GET` (the result store). Checked by the worker at start, so that an older server is
/// refused with a reason instead of failing its first script.
public enum RedisServerRequirement {
    /// The oldest Redis Celeriac runs against, as (major, minor).
    public static let minimumVersion = (major: 6, minor: 2)

    /// Why a server reporting `version` (`INFO server`'s `redis_version`, e.g. `7.0.15`) cannot be
    /// used, or `nil` when it can. A version that does not parse is given the benefit of the doubt
    /// (servers speaking the protocol may report their own scheme).
    public static func refusal(version: String, server: String) -> String? {
        let parts = version.split(separator: ".").map { Int($0) }
        guard parts.count >= 2, let major = parts[0], let minor = parts[1] else { return nil }
        guard (major, minor) < minimumVersion else { return nil }
        return "\(server) runs Redis \(version); Celeriac needs \(minimumVersion.major).\(minimumVersion.minor) or later "
            + "(RPOP with a count, SET with GET)"
    }
}
