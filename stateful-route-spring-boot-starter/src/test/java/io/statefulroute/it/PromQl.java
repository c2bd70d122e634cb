package io.statefulroute.it;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A small PromQL parser for checking the dashboard's and the alert rules' queries: it accepts
 * the language's expressions (selectors, ranges and subqueries, offset and {@code @}, functions,
 * aggregations with {@code by}/{@code without}, binary operators with {@code bool},
 * {@code on}/{@code ignoring} and {@code group_left}/{@code group_right}, at Prometheus'
 * precedences), checks function names, argument counts and value types (a range where a
 * range is due), and reports the vector selectors and aggregation groupings it read. No PromQL
 * parser for Java is on Maven Central that this build could trust; this one stays to the
 * grammar of the Prometheus documentation and leaves evaluation out.
 */
final class PromQl {

    /** Value types of PromQL. */
    enum Type {
        SCALAR, VECTOR, MATRIX, STRING
    }

    /** A label matcher of a selector, e.g. {@code outcome="new_link"}. */
    record Matcher(String label, String operator, String value) {
    }

    /** A vector selector: metric name (null when only matchers name it) and matchers. */
    record Selector(String metric, List<Matcher> matchers) {
    }

    /** The labels of a {@code by}/{@code without} clause and the selectors aggregated under it. */
    record Grouping(boolean without, List<String> labels, List<Selector> selectors) {
    }

    /** What a query is and what it reads. */
    record Query(Type type, List<Selector> selectors, List<Grouping> groupings) {
    }

    private static final Set<String> AGGREGATIONS = Set.of("sum", "min", "max", "avg", "group", "stddev", "stdvar",
            "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio");

    /** Function signatures: v instant vector, m range vector, s scalar, S string; ? optional, * repeated. */
    private static final Map<String, String> FUNCTIONS = Map.ofEntries(Map.entry("abs", "v"),
            Map.entry("absent", "v"), Map.entry("absent_over_time", "m"), Map.entry("ceil", "v"),
            Map.entry("changes", "m"), Map.entry("clamp", "vss"), Map.entry("clamp_max", "vs"),
            Map.entry("clamp_min", "vs"), Map.entry("day_of_month", "v?"), Map.entry("day_of_week", "v?"),
            Map.entry("day_of_year", "v?"), Map.entry("days_in_month", "v?"), Map.entry("delta", "m"),
            Map.entry("deriv", "m"), Map.entry("exp", "v"), Map.entry("floor", "v"),
            Map.entry("histogram_quantile", "sv"), Map.entry("holt_winters", "mss"),
            Map.entry("double_exponential_smoothing", "mss"), Map.entry("hour", "v?"), Map.entry("idelta", "m"),
            Map.entry("increase", "m"), Map.entry("irate", "m"), Map.entry("label_join", "vSSS*"),
            Map.entry("label_replace", "vSSSS"), Map.entry("ln", "v"), Map.entry("log2", "v"),
            Map.entry("log10", "v"), Map.entry("minute", "v?"), Map.entry("month", "v?"),
            Map.entry("predict_linear", "ms"), Map.entry("rate", "m"), Map.entry("resets", "m"),
            Map.entry("round", "vs?"), Map.entry("scalar", "v"), Map.entry("sgn", "v"), Map.entry("sort", "v"),
            Map.entry("sort_desc", "v"), Map.entry("sqrt", "v"), Map.entry("time", ""), Map.entry("timestamp", "v"),
            Map.entry("vector", "s"), Map.entry("year", "v?"), Map.entry("avg_over_time", "m"),
            Map.entry("min_over_time", "m"), Map.entry("max_over_time", "m"), Map.entry("sum_over_time", "m"),
            Map.entry("count_over_time", "m"), Map.entry("quantile_over_time", "sm"),
            Map.entry("stddev_over_time", "m"), Map.entry("stdvar_over_time", "m"),
            Map.entry("last_over_time", "m"), Map.entry("present_over_time", "m"));

    private static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "offset", "and", "or", "unless", "atan2");

    private static final Set<String> COMPARISONS = Set.of("==", "!=", "<", "<=", ">", ">=");

    private static final Set<String> SET_OPERATORS = Set.of("and", "or", "unless");

    private static final Pattern DURATION = Pattern.compile("(\\d+(ms|s|m|h|d|w|y))+");

    private final List<Token> tokens;

    private int position;

    private final List<Selector> selectors = new ArrayList<>();

    private final List<Grouping> groupings = new ArrayList<>();

    private PromQl(String expression) {
        this.tokens = tokenize(expression);
    }

    /**
     * Parses a query.
     * @throws IllegalArgumentException saying where and why the query is not PromQL
     */
    static Query parse(String expression) {
        PromQl parser = new PromQl(expression);
        Type type = parser.expression();
        parser.expect(Kind.END, "end of query");
        return new Query(type, List.copyOf(parser.selectors), List.copyOf(parser.groupings));
    }

    // ---- grammar

    private Type expression() {
        return binary(1);
    }

    /** Precedence climbing over Prometheus' six levels, {@code ^} being right-associative. */
    private Type binary(int minimum) {
        Type left = unary();
        while (true) {
            Token operator = peek();
            int precedence = precedence(operator);
            if (precedence == 0 || precedence < minimum) {
                return left;
            }
            next();
            String op = operator.text;
            boolean bool = false;
            if (isWord("bool")) {
                if (!COMPARISONS.contains(op)) {
                    throw error(peek(), "bool after " + op + ", which is no comparison");
                }
                next();
                bool = true;
            }
            if (isWord("on") || isWord("ignoring")) {
                next();
                labelList();
                if (isWord("group_left") || isWord("group_right")) {
                    next();
                    if (peek().kind == Kind.LPAREN) {
                        labelList();
                    }
                }
            }
            Type right = binary(op.equals("^") ? precedence : precedence + 1);
            left = combine(operator, left, right, bool);
        }
    }

    private Type combine(Token operator, Type left, Type right, boolean bool) {
        for (Type operand : List.of(left, right)) {
            if (operand != Type.SCALAR && operand != Type.VECTOR) {
                throw error(operator, "operand of " + operator.text + " is a " + operand);
            }
        }
        if (SET_OPERATORS.contains(operator.text) && (left != Type.VECTOR || right != Type.VECTOR)) {
            throw error(operator, operator.text + " needs two instant vectors");
        }
        if (COMPARISONS.contains(operator.text) && left == Type.SCALAR && right == Type.SCALAR && !bool) {
            throw error(operator, "comparison of two scalars needs bool");
        }
        return (left == Type.VECTOR || right == Type.VECTOR) ? Type.VECTOR : Type.SCALAR;
    }

    private static int precedence(Token token) {
        String text = token.text;
        if (token.kind == Kind.WORD) {
            return switch (text) {
                case "or" -> 1;
                case "and", "unless" -> 2;
                case "atan2" -> 5;
                default -> 0;
            };
        }
        if (token.kind != Kind.OPERATOR) {
            return 0;
        }
        return switch (text) {
            case "==", "!=", "<", "<=", ">", ">=" -> 3;
            case "+", "-" -> 4;
            case "*", "/", "%" -> 5;
            case "^" -> 6;
            default -> 0;
        };
    }

    private Type unary() {
        Token sign = peek();
        if (sign.kind == Kind.OPERATOR && (sign.text.equals("-") || sign.text.equals("+"))) {
            next();
            // as in Prometheus, -a^b is -(a^b)
            Type operand = binary(6);
            if (operand != Type.SCALAR && operand != Type.VECTOR) {
                throw error(sign, "unary " + sign.text + " on a " + operand);
            }
            return operand;
        }
        return postfix();
    }

    private Type postfix() {
        Token start = peek();
        int selectorsBefore = this.selectors.size();
        Type type = primary();
        boolean plainSelector = type == Type.VECTOR && this.selectors.size() == selectorsBefore + 1
                && isSelectorEnd(start);
        if (peek().kind == Kind.LBRACKET) {
            Token bracket = next();
            duration("range");
            if (peek().kind == Kind.COLON) {
                next();
                if (peek().kind == Kind.NUMBER) {
                    duration("subquery step");
                }
                if (type != Type.VECTOR) {
                    throw error(bracket, "subquery of a " + type);
                }
            }
            else if (!plainSelector) {
                throw error(bracket, "a range applies to a plain vector selector only (use a subquery)");
            }
            expect(Kind.RBRACKET, "]");
            type = Type.MATRIX;
        }
        while (isWord("offset") || peek().kind == Kind.AT) {
            Token modifier = next();
            if (type != Type.VECTOR && type != Type.MATRIX) {
                throw error(modifier, modifier.text + " on a " + type);
            }
            if (modifier.kind == Kind.AT) {
                Token at = next();
                if (at.kind == Kind.WORD && (at.text.equals("start") || at.text.equals("end"))) {
                    expect(Kind.LPAREN, "(");
                    expect(Kind.RPAREN, ")");
                }
                else if (at.kind != Kind.NUMBER) {
                    throw error(at, "a timestamp after @");
                }
            }
            else {
                if (peek().kind == Kind.OPERATOR && peek().text.equals("-")) {
                    next();
                }
                duration("offset");
            }
        }
        return type;
    }

    /** Whether the tokens from {@code start} to here were one selector: a name and/or braces. */
    private boolean isSelectorEnd(Token start) {
        Token last = this.tokens.get(this.position - 1);
        return (start.kind == Kind.WORD || start.kind == Kind.LBRACE)
                && (last == start || last.kind == Kind.RBRACE);
    }

    private Type primary() {
        Token token = peek();
        switch (token.kind) {
            case NUMBER -> {
                next();
                if (DURATION.matcher(token.text).matches() && !token.text.matches("\\d+")) {
                    throw error(token, "a duration outside a range, offset or subquery");
                }
                return Type.SCALAR;
            }
            case STRING -> {
                next();
                return Type.STRING;
            }
            case LPAREN -> {
                next();
                Type inner = expression();
                expect(Kind.RPAREN, ")");
                return inner;
            }
            case LBRACE -> {
                this.selectors.add(new Selector(null, matchers()));
                return Type.VECTOR;
            }
            case WORD -> {
                return word(token);
            }
            default -> throw error(token, "an expression");
        }
    }

    private Type word(Token token) {
        String name = token.text;
        if (name.equals("Inf") || name.equals("NaN")) {
            next();
            return Type.SCALAR;
        }
        if (AGGREGATIONS.contains(name)) {
            next();
            return aggregation(token);
        }
        if (KEYWORDS.contains(name)) {
            throw error(token, "an expression, not the keyword " + name);
        }
        next();
        if (peek().kind == Kind.LPAREN) {
            return function(token);
        }
        List<Matcher> matchers = (peek().kind == Kind.LBRACE) ? matchers() : List.of();
        this.selectors.add(new Selector(name, matchers));
        return Type.VECTOR;
    }

    private Type aggregation(Token operator) {
        boolean without = false;
        List<String> labels = null;
        if (isWord("by") || isWord("without")) {
            without = next().text.equals("without");
            labels = labelList();
        }
        int selectorsBefore = this.selectors.size();
        expect(Kind.LPAREN, "( after " + operator.text);
        String name = operator.text;
        if (Set.of("topk", "bottomk", "quantile", "limitk", "limit_ratio").contains(name)) {
            requireType(expression(), Type.SCALAR, operator, "parameter of " + name);
            expect(Kind.COMMA, ", after the parameter of " + name);
        }
        else if (name.equals("count_values")) {
            requireType(expression(), Type.STRING, operator, "parameter of count_values");
            expect(Kind.COMMA, ", after the parameter of count_values");
        }
        requireType(expression(), Type.VECTOR, operator, "argument of " + name);
        expect(Kind.RPAREN, ") closing " + name);
        if (isWord("by") || isWord("without")) {
            if (labels != null) {
                throw error(peek(), "a second by/without clause");
            }
            without = next().text.equals("without");
            labels = labelList();
        }
        if (labels != null) {
            List<Selector> inside = List.copyOf(this.selectors.subList(selectorsBefore, this.selectors.size()));
            this.groupings.add(new Grouping(without, labels, inside));
        }
        return Type.VECTOR;
    }

    private Type function(Token name) {
        String signature = FUNCTIONS.get(name.text);
        if (signature == null) {
            throw error(name, "a known function, not " + name.text);
        }
        expect(Kind.LPAREN, "(");
        List<Type> arguments = new ArrayList<>();
        if (peek().kind != Kind.RPAREN) {
            arguments.add(expression());
            while (peek().kind == Kind.COMMA) {
                next();
                arguments.add(expression());
            }
        }
        expect(Kind.RPAREN, ") closing " + name.text);
        checkArguments(name, signature, arguments);
        return switch (name.text) {
            case "scalar", "time" -> Type.SCALAR;
            default -> Type.VECTOR;
        };
    }

    private void checkArguments(Token name, String signature, List<Type> arguments) {
        int index = 0;
        for (int i = 0; i < signature.length(); i++) {
            char kind = signature.charAt(i);
            char modifier = (i + 1 < signature.length()) ? signature.charAt(i + 1) : ' ';
            if (modifier == '?' || modifier == '*') {
                i++;
            }
            Type wanted = switch (kind) {
                case 'v' -> Type.VECTOR;
                case 'm' -> Type.MATRIX;
                case 's' -> Type.SCALAR;
                default -> Type.STRING;
            };
            do {
                if (index == arguments.size()) {
                    if (modifier == '?' || modifier == '*') {
                        break;
                    }
                    throw error(name, name.text + " needs more arguments");
                }
                requireType(arguments.get(index++), wanted, name, "argument " + index + " of " + name.text);
            }
            while (modifier == '*' && index < arguments.size());
        }
        if (index < arguments.size()) {
            throw error(name, name.text + " takes " + index + " arguments, not " + arguments.size());
        }
    }

    private List<Matcher> matchers() {
        expect(Kind.LBRACE, "{");
        List<Matcher> matchers = new ArrayList<>();
        while (peek().kind != Kind.RBRACE) {
            Token label = expect(Kind.WORD, "a label name");
            Token operator = next();
            if (operator.kind != Kind.OPERATOR || !Set.of("=", "!=", "=~", "!~").contains(operator.text)) {
                throw error(operator, "a label matcher operator (= != =~ !~)");
            }
            Token value = expect(Kind.STRING, "a quoted label value");
            matchers.add(new Matcher(label.text, operator.text, value.text));
            if (peek().kind == Kind.COMMA) {
                next();
            }
            else if (peek().kind != Kind.RBRACE) {
                throw error(peek(), ", or } in a selector");
            }
        }
        next();
        return matchers;
    }

    private List<String> labelList() {
        expect(Kind.LPAREN, "( opening a label list");
        List<String> labels = new ArrayList<>();
        while (peek().kind != Kind.RPAREN) {
            labels.add(expect(Kind.WORD, "a label name").text);
            if (peek().kind == Kind.COMMA) {
                next();
            }
            else if (peek().kind != Kind.RPAREN) {
                throw error(peek(), ", or ) in a label list");
            }
        }
        next();
        return labels;
    }

    private void duration(String what) {
        Token token = expect(Kind.NUMBER, "a duration for the " + what);
        if (!DURATION.matcher(token.text).matches()) {
            throw error(token, "a duration such as 5m for the " + what + ", not " + token.text);
        }
    }

    private void requireType(Type actual, Type wanted, Token at, String what) {
        if (actual != wanted) {
            throw error(at, what + " must be a " + wanted + ", is a " + actual);
        }
    }

    // ---- tokens

    private enum Kind {
        WORD, NUMBER, STRING, OPERATOR, LPAREN, RPAREN, LBRACE, RBRACE, LBRACKET, RBRACKET, COMMA, COLON, AT, END
    }

    private record Token(Kind kind, String text, int offset) {
    }

    private Token peek() {
        return this.tokens.get(this.position);
    }

    private Token next() {
        Token token = this.tokens.get(this.position);
        if (token.kind != Kind.END) {
            this.position++;
        }
        return token;
    }

    private boolean isWord(String word) {
        return peek().kind == Kind.WORD && peek().text.equals(word);
    }

    private Token expect(Kind kind, String what) {
        Token token = next();
        if (token.kind != kind) {
            throw error(token, what);
        }
        return token;
    }

    private IllegalArgumentException error(Token at, String expected) {
        String found = (at.kind == Kind.END) ? "the end" : "'" + at.text + "'";
        return new IllegalArgumentException("expected " + expected + " at offset " + at.offset + ", found " + found);
    }

    private static List<Token> tokenize(String source) {
        List<Token> tokens = new ArrayList<>();
        int i = 0;
        while (i < source.length()) {
            char c = source.charAt(i);
            int start = i;
            if (Character.isWhitespace(c)) {
                i++;
            }
            else if (c == '#') {
                while (i < source.length() && source.charAt(i) != '\n') {
                    i++;
                }
            }
            else if (Character.isLetter(c) || c == '_') {
                // names may hold colons (recording rules) but not start with one: that is a subquery's
                while (i < source.length() && (Character.isLetterOrDigit(source.charAt(i))
                        || source.charAt(i) == '_' || source.charAt(i) == ':')) {
                    i++;
                }
                tokens.add(new Token(Kind.WORD, source.substring(start, i), start));
            }
            else if (Character.isDigit(c) || (c == '.' && i + 1 < source.length()
                    && Character.isDigit(source.charAt(i + 1)))) {
                // a number, or a duration such as 1h30m: digits, dots, exponents and units
                while (i < source.length() && (Character.isLetterOrDigit(source.charAt(i)) || source.charAt(i) == '.'
                        || ((source.charAt(i) == '+' || source.charAt(i) == '-')
                                && Character.toLowerCase(source.charAt(i - 1)) == 'e'
                                && Character.isDigit(source.charAt(start))))) {
                    i++;
                }
                String text = source.substring(start, i);
                if (!text.matches("(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?") && !DURATION.matcher(text).matches()) {
                    throw new IllegalArgumentException("not a number or duration at offset " + start + ": " + text);
                }
                tokens.add(new Token(Kind.NUMBER, text, start));
            }
            else if (c == '"' || c == '\'' || c == '`') {
                StringBuilder value = new StringBuilder();
                i++;
                while (i < source.length() && source.charAt(i) != c) {
                    if (source.charAt(i) == '\\' && c != '`' && i + 1 < source.length()) {
                        i++;
                    }
                    value.append(source.charAt(i++));
                }
                if (i == source.length()) {
                    throw new IllegalArgumentException("unterminated string at offset " + start);
                }
                i++;
                tokens.add(new Token(Kind.STRING, value.toString(), start));
            }
            else {
                String two = (i + 1 < source.length()) ? source.substring(i, i + 2) : "";
                if (Set.of("==", "!=", "<=", ">=", "=~", "!~").contains(two)) {
                    tokens.add(new Token(Kind.OPERATOR, two, start));
                    i += 2;
                    continue;
                }
                Kind kind = switch (c) {
                    case '(' -> Kind.LPAREN;
                    case ')' -> Kind.RPAREN;
                    case '{' -> Kind.LBRACE;
                    case '}' -> Kind.RBRACE;
                    case '[' -> Kind.LBRACKET;
                    case ']' -> Kind.RBRACKET;
                    case ',' -> Kind.COMMA;
                    case ':' -> Kind.COLON;
                    case '@' -> Kind.AT;
                    case '+', '-', '*', '/', '%', '^', '<', '>', '=' -> Kind.OPERATOR;
                    default -> throw new IllegalArgumentException("unexpected '" + c + "' at offset " + start);
                };
                tokens.add(new Token(kind, String.valueOf(c), start));
                i++;
            }
        }
        tokens.add(new Token(Kind.END, "", source.length()));
        return tokens;
    }

}
