import Foundation

/// Maps values of a domain onto pixels of a range, linearly.
struct LinearScale {
    var domain: (low: Double, high: Double)
    var range: (low: Double, high: Double)

    init(_ domain: (Double, Double), to range: (Double, Double)) {
        // An empty domain (one value, or all equal) still gets a width, centred on its value.
        self.domain = domain.0 < domain.1 ? domain : (domain.0 - 0.5, domain.0 + 0.5)
        self.range = range
    }

    func callAsFunction(_ value: Double) -> Double {
        range.low + (value - domain.low) / (domain.high - domain.low) * (range.high - range.low)
    }

    /// About `count` round values inside the domain (1, 2 or 5 times a power of ten apart).
    func ticks(_ count: Int = 5) -> [Double] {
        let span = domain.high - domain.low
        guard span > 0, span.isFinite else { return [domain.low] }
        let raw = span / Double(max(count, 1))
        let power = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? raw
        var ticks: [Double] = []
        var value = (domain.low / step).rounded(.up) * step
        while value <= domain.high + step * 1e-9, ticks.count < 50 {
            ticks.append(abs(value) < step * 1e-9 ? 0 : value)
            value += step
        }
        return ticks
    }
}

/// One chart's SVG: a plot area with axes, ticks and labels, marks added by the chart, and a
/// title and description that screen readers and text-only readers get (`role="img"`).
struct SVGCanvas {
    let id: String
    let width: Double
    let height: Double
    let margin = (top: 30.0, right: 20.0, bottom: 46.0, left: 62.0)
    private var body: [String] = []

    init(id: String, width: Double = 640, height: Double = 300) {
        self.id = id
        self.width = width
        self.height = height
    }

    var plotLeft: Double { margin.left }
    var plotRight: Double { width - margin.right }
    var plotTop: Double { margin.top }
    var plotBottom: Double { height - margin.bottom }

    mutating func add(_ element: String) { body.append(element) }

    /// Axes with ticks, grid lines and labels for `x` and `y`.
    mutating func axes(
        x: LinearScale, y: LinearScale, xLabel: String, yLabel: String, xTicks: [Double]? = nil, format: (Double) -> String = Self.tickLabel
    ) {
        for value in y.ticks() {
            let py = HTMLText.number(y(value))
            add(
                "<line class=\"grid\" x1=\"\(HTMLText.number(plotLeft))\" x2=\"\(HTMLText.number(plotRight))\" y1=\"\(py)\" y2=\"\(py)\"/>"
                    + "<text class=\"tick\" x=\"\(HTMLText.number(plotLeft - 6))\" y=\"\(py)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(format(value))</text>"
            )
        }
        for value in xTicks ?? x.ticks() {
            let px = HTMLText.number(x(value))
            add(
                "<line class=\"tickmark\" x1=\"\(px)\" x2=\"\(px)\" y1=\"\(HTMLText.number(plotBottom))\" y2=\"\(HTMLText.number(plotBottom + 5))\"/>"
                    + "<text class=\"tick\" x=\"\(px)\" y=\"\(HTMLText.number(plotBottom + 18))\" text-anchor=\"middle\">\(format(value))</text>")
        }
        add(
            "<line class=\"axis\" x1=\"\(HTMLText.number(plotLeft))\" x2=\"\(HTMLText.number(plotRight))\" y1=\"\(HTMLText.number(plotBottom))\" y2=\"\(HTMLText.number(plotBottom))\"/>"
                + "<line class=\"axis\" x1=\"\(HTMLText.number(plotLeft))\" x2=\"\(HTMLText.number(plotLeft))\" y1=\"\(HTMLText.number(plotTop))\" y2=\"\(HTMLText.number(plotBottom))\"/>"
                + "<text class=\"axis-label\" x=\"\(HTMLText.number((plotLeft + plotRight) / 2))\" y=\"\(HTMLText.number(height - 8))\" text-anchor=\"middle\">\(HTMLText.escape(xLabel))</text>"
                + "<text class=\"axis-label\" transform=\"translate(14 \(HTMLText.number((plotTop + plotBottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(HTMLText.escape(yLabel))</text>"
        )
    }

    static func tickLabel(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e6 { return String(Int(value)) }
        return abs(value) >= 0.1 ? String(format: "%.2f", value) : String(format: "%.3f", value)
    }

    /// The chart as a `<figure>`: the SVG with its title and description, and a caption.
    func figure(title: String, description: String, caption: String? = nil) -> String {
        let t = HTMLText.escape(title), d = HTMLText.escape(description)
        return """
            <figure class="chart" id="\(id)">
            <svg role="img" aria-labelledby="\(id)-title \(id)-desc" viewBox="0 0 \(HTMLText.number(width)) \(HTMLText.number(height))" width="\(HTMLText.number(width))" height="\(HTMLText.number(height))">
            <title id="\(id)-title">\(t)</title>
            <desc id="\(id)-desc">\(d)</desc>
            \(body.joined(separator: "\n"))
            </svg>
            <figcaption><strong>\(t).</strong> \(HTMLText.escape(caption ?? description))</figcaption>
            </figure>
            """
    }
}
