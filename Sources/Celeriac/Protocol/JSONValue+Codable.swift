import Foundation

extension JSONValue {
    /// Converts an `Encodable` value (task arguments, results) to JSON. Object keys come out sorted,
    /// so the same value always makes the same message (Foundation's encoder keeps no key order).
    /// - Throws: ``CeleriacError`` with code `encoding` when the value cannot be encoded.
    public init(encoding value: some Encodable) throws {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let data = try encoder.encode(value)
            self = try JSONValue(parsing: data)
        } catch {
            throw CeleriacError(.encoding, "cannot encode \(type(of: value)) as JSON: \(error)")
        }
    }

    /// Converts this JSON to a `Decodable` type.
    /// - Throws: ``CeleriacError`` with code `encoding`, saying which type and why.
    public func decode<T: Decodable>(as type: T.Type = T.self) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(serialized()))
        } catch {
            throw CeleriacError(.encoding, "cannot decode \(T.self) from \(serializedString.prefix(200)): \(error)")
        }
    }
}
