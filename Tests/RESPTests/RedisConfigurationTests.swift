import Testing
import RESP

@Suite struct RedisConfigurationTests {
    @Test func defaults() throws {
        let configuration = try RedisConfiguration(url: "redis://localhost")
        #expect(configuration.endpoint == .tcp(host: "localhost", port: 6379))
        #expect(configuration.database == 0)
        #expect(configuration.username == nil)
        #expect(configuration.password == nil)
    }

    @Test func everyPart() throws {
        let configuration = try RedisConfiguration(url: "redis://alice:p%40ss%3Aword@10.1.2.3:6380/5")
        #expect(configuration.endpoint == .tcp(host: "10.1.2.3", port: 6380))
        #expect(configuration.database == 5)
        #expect(configuration.username == "alice")
        #expect(configuration.password == "p@ss:word")
    }

    @Test func passwordOnly() throws {
        let withColon = try RedisConfiguration(url: "redis://:secret@host/1")
        #expect(withColon.username == nil)
        #expect(withColon.password == "secret")
        let bare = try RedisConfiguration(url: "redis://secret@host")
        #expect(bare.password == "secret")
    }

    @Test func ipv6() throws {
        let configuration = try RedisConfiguration(url: "redis://[::1]:7000/2")
        #expect(configuration.endpoint == .tcp(host: "::1", port: 7000))
        #expect(configuration.database == 2)
        #expect(configuration.redactedURL == "redis://[::1]:7000/2")
    }

    @Test func unixSocket() throws {
        let configuration = try RedisConfiguration(url: "unix:///var/run/redis/redis.sock?db=3&password=pw")
        #expect(configuration.endpoint == .unixSocket(path: "/var/run/redis/redis.sock"))
        #expect(configuration.database == 3)
        #expect(configuration.password == "pw")
        #expect(configuration.redactedURL == "unix:///var/run/redis/redis.sock?db=3&password=***")
    }

    @Test func queryTimeouts() throws {
        let configuration = try RedisConfiguration(url: "redis://h/0?timeout=0.5&connect_timeout=2&client_name=w1")
        #expect(configuration.commandTimeout == .milliseconds(500))
        #expect(configuration.connectTimeout == .seconds(2))
        #expect(configuration.clientName == "w1")
    }

    @Test func redactedURLNeverShowsThePassword() throws {
        let configuration = try RedisConfiguration(url: "redis://bob:hunter2@host:1/0")
        #expect(configuration.redactedURL == "redis://bob:***@host:1/0")
        #expect(!configuration.description.contains("hunter2"))
    }

    /// Passwords with unescaped '/', '?' or '@' make URLs that do not parse: the error must not
    /// show them either (redaction does not depend on parsing).
    @Test(arguments: [
        "redis://bob:se/cret@host:1/0", "redis://:se?cret@host/0", "redis://bob:a@b/c?d@host:99999/0",
        "redis://host/0?password=se/cret&password=again%zz", "redis://:pa%zzss@host/0",
    ])
    func errorsNeverShowPasswords(url: String) {
        let error = try? #require(throws: RedisClientError.self) { try RedisConfiguration(url: url) }
        for secret in ["se/cret", "se?cret", "a@b/c?d", "again", "pa%zzss"] {
            #expect(error?.message.contains(secret) == false, "\(error?.message ?? "")")
        }
    }

    @Test(arguments: [
        ("localhost:6379", "is not a URL"),
        ("http://host", "unsupported scheme 'http'"),
        ("rediss://host", "TLS"),
        ("redis://host:99999", "port '99999'"),
        ("redis://host:abc", "port 'abc'"),
        ("redis://host/x", "database 'x'"),
        ("redis://host/-1", "database '-1'"),
        ("redis://[::1/0", "closing ']'"),
        ("redis://host/0?bogus=1", "unknown query parameter 'bogus'"),
        ("redis://u:bad%zzpw@host", "malformed %-escape"),
        ("unix://relative.sock", "absolute path"),
        ("redis://host/0?timeout=-1", "positive number of seconds"),
    ])
    func malformedURLsNameWhatIsWrong(url: String, expected: String) {
        let error = try? #require(throws: RedisClientError.self) { try RedisConfiguration(url: url) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
    }

    @Test func errorsRedactThePassword() {
        let error = try? #require(throws: RedisClientError.self) {
            try RedisConfiguration(url: "redis://user:topsecret@host:notaport/0")
        }
        #expect(error?.message.contains("topsecret") == false)
        #expect(error?.message.contains("user:***@") == true)
    }
}
