import Foundation

/// kombu's JSON envelope for messages that are not tasks (pidbox requests and replies, events):
/// the body JSON base64-encoded, with headers and delivery properties.
enum KombuEnvelope {
    static func encode(
        body: [UInt8], headers: JSONObject, exchange: String, routingKey: String, deliveryMode: Int,
        deliveryTag: String = CeleryID.random()
    ) -> [UInt8] {
        var encodedBody: [UInt8] = []
        Base64.append(body, to: &encodedBody)
        let envelope: JSONObject = [
            "body": .string(String(decoding: encodedBody, as: UTF8.self)),
            "content-encoding": "utf-8", "content-type": "application/json", "headers": .object(headers),
            "properties": [
                "delivery_mode": .integer(deliveryMode),
                "delivery_info": ["exchange": .string(exchange), "routing_key": .string(routingKey)],
                "priority": 0, "body_encoding": "base64", "delivery_tag": .string(deliveryTag),
            ],
        ]
        return JSONValue.object(envelope).serialized()
    }

    /// Reads an envelope: its headers and its body JSON (base64-decoded when the properties say so).
    /// - Throws: ``CeleryProtocolError`` naming `what` when it is not an envelope with a JSON body.
    static func decode(_ envelope: some Collection<UInt8>, what: String) throws -> (headers: JSONObject, body: JSONValue) {
        guard case .object(let object) = try JSONValue(parsing: envelope), let body = object["body"]?.stringValue else {
            throw CeleryProtocolError(.missingField, "the \(what) has no 'body'")
        }
        var bytes = Array(body.utf8)
        if object["properties"]?["body_encoding"]?.stringValue == "base64" {
            guard let decoded = Base64.decode(bytes) else {
                throw CeleryProtocolError(.invalidBase64, "the \(what) body is not valid base64")
            }
            bytes = decoded
        }
        return (object["headers"]?.objectValue ?? [:], try JSONValue(parsing: bytes))
    }
}
