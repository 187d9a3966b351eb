extension ValidationFunction {
    func map(view record: borrowing JSONRecordView, into partial: inout Partial) throws {
        var failedAny = false
        // By index: a rule read in place, not copied (with its strings and arrays) per item.
        for index in rules.indices {
            guard let failed = Self.check(record, ruleSlots[index], against: rules[index]) else { continue }
            failedAny = true
            partial.byRule[rules[index].field + "." + failed, default: 0] += 1
            partial.byField[rules[index].field, default: 0] += 1
        }
        if failedAny {
            partial.invalid += 1
            if partial.samples.count < sampleCount { partial.samples.append(record.value(idSlot) ?? .null) }
        } else {
            partial.valid += 1
        }
    }

    /// ``check(_:against:)`` of a view's field: the same rule names in the same order, without
    /// building the value (ASCII strings are checked on their bytes, numbers as scanned).
    static func check(_ record: borrowing JSONRecordView, _ slot: Int, against rule: Rule) -> String? {
        let kind = record.kind(slot)
        switch kind {
        case .missing, .null: return rule.required ? "required" : nil
        case .decoded: return check(record.value(slot), against: rule)
        case .falseValue, .trueValue, .integer, .double, .asciiString: break
        }
        if let type = rule.type, !matches(kind, record.slots[slot].double, type: type) { return "type" }
        if rule.minimum != nil || rule.maximum != nil {
            guard let number = record.number(slot) else { return "type" }
            if let minimum = rule.minimum, number < minimum { return "min" }
            if let maximum = rule.maximum, number > maximum { return "max" }
        }
        if rule.minimumLength != nil || rule.maximumLength != nil || rule.format != nil || rule.regex != nil {
            guard let text = record.asciiBytes(slot) else { return "type" }
            if rule.minimumLength != nil || rule.maximumLength != nil {
                let length = text.count  // ASCII: one code point a byte
                if let minimum = rule.minimumLength, length < minimum { return "min_length" }
                if let maximum = rule.maximumLength, length > maximum { return "max_length" }
            }
            if rule.format == .email, !isEmail(utf8: text) { return "format" }
            if let regex = rule.regex, !regex.matches(String(decoding: text, as: UTF8.self)) { return "regex" }
        }
        if let oneOf = rule.oneOf {
            if let text = record.asciiBytes(slot), let ascii = rule.asciiOneOf {
                if !ascii.contains(where: { $0.count == text.count && $0.elementsEqual(text) }) { return "one_of" }
            } else if let value = record.value(slot), !oneOf.contains(value) {
                return "one_of"
            }
        }
        return nil
    }

    /// ``matches(_:type:)`` of a scanned kind (`double`: the value of a `double` field).
    static func matches(_ kind: JSONRecordView.Kind, _ double: Double, type: ValueType) -> Bool {
        switch (type, kind) {
        case (.string, .asciiString), (.integer, .integer), (.number, .integer), (.number, .double),
            (.boolean, .trueValue), (.boolean, .falseValue):
            true
        case (.integer, .double): double.rounded() == double
        default: false
        }
    }
}
