import Celeriac

/// `celeriac.examples.add(x, y)`, typed, as the tests send it.
enum Add: CeleriacTask {
    static let name = "celeriac.examples.add"
    struct Arguments: Codable, Sendable {
        var x: Int
        var y: Int
    }
    typealias Result = Int
}
