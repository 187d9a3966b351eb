/// A built-in function (validation, analysis, aggregation, classification: those that write no
/// items) with a second map path over ``JSONRecordView``s: the fields it reads,
/// found in the read buffer by ``JSONRecordScanner`` instead of a ``JSONObject`` built per item.
/// The map loop takes it for JSON records whenever ``viewFields`` is not `nil`; a record the
/// scanner leaves alone goes through ``JobFunction/map(_:into:)`` as before, so both paths must
/// fold an item the same way (unit tests compare them on the same records).
protocol RecordViewFunction: JobFunction {
    /// The fields ``map(view:into:)`` reads, as the view's slots in this order (a set: no name
    /// twice; the same names as ``JobFunction/fieldsRead``), or `nil` when these parameters need
    /// the object path (the function then runs as any other).
    var viewFields: [String]? { get }

    /// Folds the record into `partial`, as ``JobFunction/map(_:into:)`` folds the same record
    /// parsed as an object. The function writes no output items on this path.
    /// - Throws: any error to count the item as failed.
    func map(view record: borrowing JSONRecordView, into partial: inout Partial) throws
}

/// The record view's slots of a function's fields, each name once: what ``RecordViewFunction``s
/// build their ``RecordViewFunction/viewFields`` with.
struct ViewSlots {
    /// The names, in slot order.
    private(set) var fields: [String] = []

    /// The slot of `field`, a new one the first time it is asked for.
    mutating func slot(_ field: String) -> Int {
        if let slot = fields.firstIndex(of: field) { return slot }
        fields.append(field)
        return fields.count - 1
    }
}
