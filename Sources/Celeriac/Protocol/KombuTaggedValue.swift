import Foundation

/// A value kombu's JSON serializer writes as `{"__type__": T, "__value__": V}` because JSON has no
/// such type: datetimes, dates, times, decimals, UUIDs and bytes.
///
/// Python decodes any object with exactly these two keys and raises for an unknown `T`; Celeriac
/// decodes the known ones and leaves other objects alone.
public enum KombuTaggedValue: Sendable, Hashable {
    /// `datetime`: an ISO 8601 timestamp.
    case datetime(Date)
    /// `date`: `YYYY-MM-DD`.
    case date(String)
    /// `time`: `HH:MM:SS[.ffffff]`.
    case time(String)
    /// `decimal`: the exact decimal text (e.g. `12.50`), kept as text so no digit is lost.
    case decimal(String)
    /// `uuid`.
    case uuid(UUID)
    /// `bytes` (UTF-8 text in the JSON) or `base64` (bytes that are not UTF-8).
    case bytes([UInt8])

    /// Decodes a tagged object; `nil` when `value` is not an object with exactly `__type__` and
    /// `__value__` of a known type.
    public init?(_ value: JSONValue) {
        guard let object = value.objectValue, object.count == 2, let type = object["__type__"]?.stringValue,
            let payload = object["__value__"]
        else { return nil }
        switch (type, payload) {
        case ("datetime", .string(let text)):
            guard let date = try? CeleryTimestamp.parse(text) else { return nil }
            self = .datetime(date)
        case ("date", .string(let text)): self = .date(text)
        case ("time", .string(let text)): self = .time(text)
        case ("decimal", .string(let text)): self = .decimal(text)
        case ("uuid", _):
            let hex = payload["hex"]?.stringValue ?? payload.stringValue ?? ""
            guard let uuid = UUID(uuidString: KombuTaggedValue.dashed(hex)) else { return nil }
            self = .uuid(uuid)
        case ("bytes", .string(let text)): self = .bytes(Array(text.utf8))
        case ("base64", .string(let text)):
            guard let bytes = Base64.decode(text.utf8) else { return nil }
            self = .bytes(bytes)
        default: return nil
        }
    }

    private static func dashed(_ hex: String) -> String {
        guard hex.count == 32 else { return hex }
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }
}

extension JSONValue {
    /// The kombu-tagged value this object stands for, if it is one (see ``KombuTaggedValue``).
    public var kombuTaggedValue: KombuTaggedValue? { KombuTaggedValue(self) }
}
