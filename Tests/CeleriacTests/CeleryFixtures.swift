import Foundation

/// Reads the captured Celery fixtures under `Tests/CeleriacTests/Fixtures/celery/`.
enum CeleryFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/celery")

    /// The exact bytes of `<folder>/<name>.<suffix>`.
    static func bytes(_ folder: String, _ name: String, _ suffix: String = "raw") throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent("\(folder)/\(name).\(suffix)")))
    }

    /// The names (without suffix) of the fixtures in `folder` that have a file with `suffix`.
    static func names(in folder: String, withSuffix suffix: String) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent(folder).path)) ?? []
        return files.filter { $0.hasSuffix(".\(suffix)") }.map { String($0.dropLast(suffix.count + 1)) }.sorted()
    }

    /// Broker fixtures that are task envelopes (a `.raw` next to a `.body.json`).
    static var brokerMessages: [String] {
        let withBody = Set(names(in: "broker", withSuffix: "body.json"))
        return names(in: "broker", withSuffix: "raw").filter(withBody.contains)
    }
}
