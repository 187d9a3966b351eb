import Foundation

extension JSONValue {
    /// Converts an `Encodable` value (task arguments, results) to JSON. Object keys come out sorted,
    /// so the same value always makes the same message (Foundation's encoder keeps no key order);
    /// a `JSONValue` is taken as it is, its objects in their own order.
    /// - Throws: ``CeleriacError`` with code `encoding` when the value cannot be encoded.
    public init(encoding value: some Encodable) throws {
        // Common results skip Foundation's encoder (and parsing its output back): a worker
        // converts every typed task's result.
        switch value {
        case let json as JSONValue:
            self = json
            return
        case let text as String:
            self = .string(text)
            return
        case let number as Int:
            self = .integer(number)
            return
        case let flag as Bool:
            self = .bool(flag)
            return
        default: break
        }
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

/// `JSONValue` inside `Codable` types (e.g. a typed task whose argument may be any number).
/// Foundation's coders keep no key order: decoded objects come out with sorted keys.
extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            let dictionary = try container.decode([String: JSONValue].self)
            var object = JSONObject()
            for key in dictionary.keys.sorted() { object[key] = dictionary[key] }
            self = .object(object)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let object):
            var dictionary: [String: JSONValue] = [:]
            for (key, value) in object { dictionary[key] = value }
            try container.encode(dictionary)
        }
    }
}
