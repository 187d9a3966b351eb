import Foundation

/// kombu's JSON envelope for messages that are not tasks (pidbox requests and replies, events):
/// the body JSON base64-encoded, with headers and delivery properties.
enum KombuEnvelope {
    static func encode(
        body: [UInt8], headers: JSONObject, exchange: String, routingKey: String, deliveryMode: Int,
        deliveryTag: String = UUID().uuidString.lowercased()
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
}
