/// The Redis key names kombu uses for a queue.
public enum QueueKeys {
    /// kombu's field separator, the two bytes 0x06 0x16.
    public static let separator = "\u{06}\u{16}"

    /// The priority steps that have their own list; a message goes to the largest step ≤ its priority.
    public static let prioritySteps = [0, 3, 6, 9]

    /// The list holding messages of `priority` for `queue`: `queue` for 0-2, `queue\x06\x163` for 3-5,
    /// `…6` for 6-8, `…9` for 9 (values are clamped to 0-9).
    public static func listKey(queue: String, priority: Int) -> String {
        let step = priorityStep(for: priority)
        return step == 0 ? queue : queue + separator + String(step)
    }

    /// The four lists of `queue`, most urgent first (on Redis, priority 0 is served first).
    public static func listKeys(queue: String) -> [String] {
        prioritySteps.map { listKey(queue: queue, priority: $0) }
    }

    /// The step whose list takes messages of `priority`.
    public static func priorityStep(for priority: Int) -> Int {
        let clamped = min(9, max(0, priority))
        return prioritySteps.last { $0 <= clamped } ?? 0
    }

    /// The binding set of an exchange (`_kombu.binding.<exchange>`).
    public static func bindingKey(exchange: String) -> String { "_kombu.binding." + exchange }

    /// The permanent binding set of an exchange (`_kombu.binding_permanent.<exchange>`, kombu 5.7).
    public static func permanentBindingKey(exchange: String) -> String { "_kombu.binding_permanent." + exchange }

    /// The binding member `routing_key SEP pattern SEP queue` of a direct exchange (empty pattern).
    public static func bindingMember(queue: String, exchange: String, routingKey: String) -> String {
        routingKey + separator + separator + queue
    }
}
