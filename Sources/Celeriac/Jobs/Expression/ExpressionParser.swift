/// A recursive-descent parser for ``Expression``, with limits on length and nesting (the text comes
/// from job parameters, which anyone who can submit a job controls).
struct ExpressionParser {
    static let maximumLength = 4096
    static let maximumDepth = 64

    private enum Token: Equatable {
        case number(JSONValue)
        case string(String)
        case name(String)
        case symbol(String)
        case end
    }

    private var tokens: [(token: Token, offset: Int)] = []
    private var position = 0
    private var depth = 0

    static func parse(_ source: String) throws -> Expression.Node {
        guard source.utf8.count <= maximumLength else {
            throw ExpressionError("expression longer than \(maximumLength) bytes")
        }
        var parser = ExpressionParser()
        parser.tokens = try tokenize(Array(source.unicodeScalars))
        let node = try parser.parseOr()
        guard parser.current == .end else { throw parser.unexpected("end of expression") }
        return node
    }

    private var current: Token { tokens[position].token }

    private func unexpected(_ expected: String) -> ExpressionError {
        let found: String
        switch current {
        case .end: found = "the end"
        case .symbol(let symbol): found = "'\(symbol)'"
        case .name(let name): found = "'\(name)'"
        case .string(let text): found = "string '\(text)'"
        case .number(let value): found = "number \(value)"
        }
        return ExpressionError("expected \(expected) at offset \(tokens[position].offset), found \(found)")
    }

    private mutating func take(_ symbol: String) -> Bool {
        guard current == .symbol(symbol) else { return false }
        position += 1
        return true
    }

    private mutating func nested<T>(_ body: (inout ExpressionParser) throws -> T) throws -> T {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else { throw ExpressionError("expression nested deeper than \(Self.maximumDepth)") }
        return try body(&self)
    }

    private mutating func parseOr() throws -> Expression.Node {
        var node = try parseAnd()
        while take("||") { node = .binary("||", node, try parseAnd()) }
        return node
    }

    private mutating func parseAnd() throws -> Expression.Node {
        var node = try parseComparison()
        while take("&&") { node = .binary("&&", node, try parseComparison()) }
        return node
    }

    private mutating func parseComparison() throws -> Expression.Node {
        let node = try parseSum()
        for op in ["==", "!=", "<=", ">=", "<", ">"] where take(op) {
            return .binary(op, node, try parseSum())
        }
        return node
    }

    private mutating func parseSum() throws -> Expression.Node {
        var node = try parseProduct()
        while true {
            if take("+") {
                node = .binary("+", node, try parseProduct())
            } else if take("-") {
                node = .binary("-", node, try parseProduct())
            } else {
                return node
            }
        }
    }

    private mutating func parseProduct() throws -> Expression.Node {
        var node = try parseUnary()
        while true {
            if take("*") {
                node = .binary("*", node, try parseUnary())
            } else if take("/") {
                node = .binary("/", node, try parseUnary())
            } else if take("%") {
                node = .binary("%", node, try parseUnary())
            } else {
                return node
            }
        }
    }

    private mutating func parseUnary() throws -> Expression.Node {
        if take("!") { return try nested { .unary("!", try $0.parseUnary()) } }
        if take("-") { return try nested { .unary("-", try $0.parseUnary()) } }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws -> Expression.Node {
        switch current {
        case .number(let value):
            position += 1
            return .literal(value)
        case .string(let text):
            position += 1
            return .literal(.string(text))
        case .symbol("("):
            position += 1
            let node = try nested { try $0.parseOr() }
            guard take(")") else { throw unexpected("')'") }
            return node
        case .name(let name):
            position += 1
            switch name {
            case "true": return .literal(true)
            case "false": return .literal(false)
            case "null": return .literal(.null)
            default: break
            }
            if take("(") {
                var arguments: [Expression.Node] = []
                if !take(")") {
                    repeat { arguments.append(try nested { try $0.parseOr() }) } while take(",")
                    guard take(")") else { throw unexpected("')' after the arguments of \(name)()") }
                }
                return .call(name, arguments)
            }
            var path = [name]
            while take(".") {
                guard case .name(let member) = current else { throw unexpected("a field name after '.'") }
                position += 1
                path.append(member)
            }
            return .field(path)
        default:
            throw unexpected("a value, a field or '('")
        }
    }

    private static func tokenize(_ scalars: [Unicode.Scalar]) throws -> [(token: Token, offset: Int)] {
        var tokens: [(token: Token, offset: Int)] = []
        var index = 0
        let twoCharacter: Set<String> = ["==", "!=", "<=", ">=", "&&", "||"]
        while index < scalars.count {
            let scalar = scalars[index]
            let start = index
            if scalar.properties.isWhitespace {
                index += 1
            } else if scalar.properties.numericType == .decimal
                || (scalar == "." && index + 1 < scalars.count
                    && scalars[index + 1].properties.numericType == .decimal)
            {
                while index < scalars.count, scalars[index].properties.numericType == .decimal || scalars[index] == "." {
                    index += 1
                }
                let text = String(String.UnicodeScalarView(scalars[start..<index]))
                if let integer = Int(text) {
                    tokens.append((.number(.integer(integer)), start))
                } else if let number = Double(text), number.isFinite {
                    tokens.append((.number(.double(number)), start))
                } else {
                    throw ExpressionError("invalid number '\(text)' at offset \(start)")
                }
            } else if scalar == "'" || scalar == "\"" {
                index += 1
                var text = String.UnicodeScalarView()
                while index < scalars.count, scalars[index] != scalar {
                    if scalars[index] == "\\", index + 1 < scalars.count { index += 1 }
                    text.append(scalars[index])
                    index += 1
                }
                guard index < scalars.count else { throw ExpressionError("unterminated string at offset \(start)") }
                index += 1
                tokens.append((.string(String(text)), start))
            } else if scalar.properties.isAlphabetic || scalar == "_" {
                while index < scalars.count,
                    scalars[index].properties.isAlphabetic || scalars[index] == "_"
                        || scalars[index].properties.numericType == .decimal
                {
                    index += 1
                }
                tokens.append((.name(String(String.UnicodeScalarView(scalars[start..<index]))), start))
            } else {
                let pair = index + 1 < scalars.count ? String(String.UnicodeScalarView([scalar, scalars[index + 1]])) : ""
                if twoCharacter.contains(pair) {
                    tokens.append((.symbol(pair), start))
                    index += 2
                } else if "+-*/%<>!().,".unicodeScalars.contains(scalar) {
                    tokens.append((.symbol(String(scalar)), start))
                    index += 1
                } else {
                    throw ExpressionError("unexpected character '\(scalar)' at offset \(start)")
                }
            }
        }
        tokens.append((.end, scalars.count))
        return tokens
    }
}
