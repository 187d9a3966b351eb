import Celeriac
import Foundation
import RedisTestSupport
import Testing

/// No Docker engine runs on our machines: the compose file is checked by parsing it with PyYAML
/// (from the test venv that scripts/test.sh makes and names in CELERIAC_PYTHON).
@Suite struct DockerComposeTests {
    static let python = ProcessInfo.processInfo.environment["CELERIAC_PYTHON"]

    private var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    @Test(.enabled(if: python != nil, "set CELERIAC_PYTHON to a Python with PyYAML (scripts/test.sh does)"))
    func composeFileParsesAndNamesTheServices() async throws {
        let check = """
            import sys, yaml
            compose = yaml.safe_load(open(sys.argv[1]))
            services = compose["services"]
            assert set(services) >= {"redis", "worker", "beat"}, sorted(services)
            assert services["redis"]["image"].startswith("redis:7"), services["redis"]["image"]
            for name in ("worker", "beat"):
                service = services[name]
                assert service["build"] == ".", service
                assert service["environment"]["CELERIAC_BROKER_URL"].startswith("redis://redis:"), service
                assert "redis" in service["depends_on"], service
            assert services["worker"]["command"] == ["celeriac-worker"]
            assert services["beat"]["command"][:2] == ["celeriac-beat", "--schedule"], services["beat"]["command"]
            print("ok", sorted(services))
            """
        let result = try await CommandRunner.run(
            URL(fileURLWithPath: try #require(Self.python)),
            ["-c", check, repositoryRoot.appendingPathComponent("docker-compose.yml").path])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.hasPrefix("ok ['beat', 'redis', 'worker']"))
    }

    @Test func theExampleBeatScheduleLoads() throws {
        let schedule = try BeatSchedule(contentsOf: repositoryRoot.appendingPathComponent("Examples/beat.json").path)
        #expect(schedule.entries.map(\.name) == ["heartbeat", "nightly-sum"])
    }

    @Test func dockerfileBuildsOnTheSwiftImageWithHiredis() throws {
        let dockerfile = try String(contentsOf: repositoryRoot.appendingPathComponent("Dockerfile"), encoding: .utf8)
        #expect(dockerfile.contains("FROM swift:6"))
        #expect(dockerfile.contains("libhiredis-dev"))
        #expect(dockerfile.contains("celeriac-worker"))
        #expect(dockerfile.contains("celeriac-beat"))
        // Package.swift names Examples/ExampleWorker: the build stage must have it.
        #expect(dockerfile.contains("COPY Examples ./Examples"))
    }
}
