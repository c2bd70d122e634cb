package io.statefulroute.it;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A chart of a few panels' series over one run, as SVG (Markdown renders it; no plotting
 * library needed): panels stacked on one time axis, with the run's events as dashed lines.
 */
final class RunChart {

    private static final String[] COLORS = { "#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b",
            "#e377c2" };

    private static final int WIDTH = 960;

    private static final int LEFT = 70;

    private static final int RIGHT = 190;

    private static final int PANEL_HEIGHT = 170;

    private static final int GAP = 46;

    /** Below the title and the list of events, which take a line each. */
    private static final int HEADER = 48;

    /** A panel: its series by legend, plotted against {@code seconds}. */
    record Panel(String title, String unit, boolean logarithmic, Map<String, double[]> series) {
    }

    /** Something that happened at a moment of the run. */
    record Event(double seconds, String label) {
    }

    private final String title;

    private final String subtitle;

    private final double[] seconds;

    private final List<Panel> panels = new ArrayList<>();

    private final List<Event> events = new ArrayList<>();

    RunChart(String title, String subtitle, double[] seconds) {
        this.title = title;
        this.subtitle = subtitle;
        this.seconds = seconds;
    }

    RunChart panel(String title, String unit, boolean logarithmic, Map<String, double[]> series) {
        this.panels.add(new Panel(title, unit, logarithmic, new LinkedHashMap<>(series)));
        return this;
    }

    RunChart event(double seconds, String label) {
        this.events.add(new Event(seconds, label));
        return this;
    }

    String svg() {
        int firstTop = HEADER + 14 * this.events.size() + 12;
        int height = firstTop + this.panels.size() * (PANEL_HEIGHT + GAP) - GAP + 30;
        double end = this.seconds[this.seconds.length - 1];
        StringBuilder svg = new StringBuilder();
        svg.append(format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                + "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\">\n", WIDTH, height, WIDTH, height));
        svg.append(format("<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", WIDTH, height));
        svg.append(format("<text x=\"%d\" y=\"20\" font-size=\"14\" font-weight=\"bold\">%s</text>\n", LEFT,
                escape(this.title)));
        int plotWidth = WIDTH - LEFT - RIGHT;
        svg.append(format("<text x=\"%d\" y=\"38\" fill=\"#555\">%s</text>\n", LEFT, escape(this.subtitle)));
        for (int e = 0; e < this.events.size(); e++) {
            Event event = this.events.get(e);
            svg.append(format("<text x=\"%d\" y=\"%d\" fill=\"#333\">%d  at %.1f s: %s</text>\n", LEFT + 10,
                    HEADER + 14 * e + 10, e + 1, event.seconds(), escape(event.label())));
        }
        int top = firstTop + 16;
        for (Panel panel : this.panels) {
            appendPanel(svg, panel, top, plotWidth, end);
            for (int e = 0; e < this.events.size(); e++) {
                double x = LEFT + plotWidth * this.events.get(e).seconds() / end;
                svg.append(format("<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#888\" "
                        + "stroke-dasharray=\"4,3\"/>\n", x, top, x, top + PANEL_HEIGHT));
                svg.append(format("<text x=\"%.1f\" y=\"%d\" fill=\"#555\">%d</text>\n", x + 2.0, top + 10, e + 1));
            }
            top += PANEL_HEIGHT + GAP;
        }
        svg.append("</svg>\n");
        return svg.toString();
    }

    private void appendPanel(StringBuilder svg, Panel panel, int top, int plotWidth, double end) {
        double max = 0;
        double min = Double.MAX_VALUE;
        for (double[] values : panel.series().values()) {
            for (double value : values) {
                if (Double.isFinite(value)) {
                    max = Math.max(max, value);
                    if (value > 0) {
                        min = Math.min(min, value);
                    }
                }
            }
        }
        // a logarithmic axis needs a positive value to start from
        Scale scale = (panel.logarithmic() && max > 0) ? Scale.logarithmic(min, max) : Scale.linear(max);
        int bottom = top + PANEL_HEIGHT;
        svg.append(format("<text x=\"%d\" y=\"%d\" font-size=\"12\" font-weight=\"bold\">%s</text>\n", LEFT, top - 6,
                escape(panel.title())));
        svg.append(format("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#bbb\"/>\n", LEFT,
                top, plotWidth, PANEL_HEIGHT));
        for (double tick : scale.ticks()) {
            double y = bottom - PANEL_HEIGHT * scale.position(tick);
            svg.append(format("<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>\n", LEFT, y,
                    LEFT + plotWidth, y));
            svg.append(format("<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", LEFT - 4, y + 4,
                    number(tick)));
        }
        svg.append(format("<text x=\"12\" y=\"%d\" transform=\"rotate(-90 12 %d)\" text-anchor=\"middle\">%s</text>\n",
                top + PANEL_HEIGHT / 2, top + PANEL_HEIGHT / 2, escape(panel.unit())));
        for (int second = 0; second <= end; second += 2) {
            double x = LEFT + plotWidth * second / end;
            svg.append(format("<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">%ds</text>\n", x,
                    bottom + 13, second));
        }
        int color = 0;
        int legend = top + 12;
        for (Map.Entry<String, double[]> series : panel.series().entrySet()) {
            String stroke = COLORS[color++ % COLORS.length];
            StringBuilder points = new StringBuilder();
            double[] values = series.getValue();
            for (int i = 0; i < values.length; i++) {
                if (!Double.isFinite(values[i]) || (panel.logarithmic() && values[i] <= 0)) {
                    // a gap: no sample of the series at this moment
                    appendLine(svg, points, stroke);
                    points.setLength(0);
                    continue;
                }
                double x = LEFT + plotWidth * this.seconds[i] / end;
                double y = bottom - PANEL_HEIGHT * scale.position(values[i]);
                points.append(format("%.1f,%.1f ", x, y));
            }
            appendLine(svg, points, stroke);
            svg.append(format("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>\n",
                    LEFT + plotWidth + 10, legend - 4, LEFT + plotWidth + 26, legend - 4, stroke));
            svg.append(format("<text x=\"%d\" y=\"%d\">%s</text>\n", LEFT + plotWidth + 30, legend,
                    escape(series.getKey())));
            legend += 15;
        }
    }

    private static void appendLine(StringBuilder svg, StringBuilder points, String stroke) {
        if (!points.isEmpty()) {
            svg.append(format("<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" points=\"%s\"/>\n", stroke,
                    points.toString().strip()));
        }
    }

    /** Where a value sits between the bottom (0) and the top (1) of a panel. */
    private record Scale(boolean logarithmic, double step, double low, double high) {

        static Scale linear(double max) {
            double step = step(max);
            // a step of headroom when the largest value sits on a tick, so it does not run along the frame
            return new Scale(false, step, 0, (Math.floor(max / step) + 1) * step);
        }

        static Scale logarithmic(double min, double max) {
            double low = Math.pow(10, Math.floor(Math.log10(Math.min(min, max))));
            double high = Math.pow(10, Math.ceil(Math.log10(max)));
            return new Scale(true, 0, low, (high > low) ? high : low * 10);
        }

        double position(double value) {
            return this.logarithmic ? Math.log10(value / this.low) / Math.log10(this.high / this.low)
                    : (value - this.low) / (this.high - this.low);
        }

        List<Double> ticks() {
            List<Double> ticks = new ArrayList<>();
            if (this.logarithmic) {
                for (double tick = this.low; tick <= this.high * 1.0001; tick *= 10) {
                    ticks.add(tick);
                }
            }
            else {
                for (double tick = this.low; tick <= this.high + this.step / 2; tick += this.step) {
                    ticks.add(tick);
                }
            }
            return ticks;
        }

        /** A round step (1, 2, 2.5 or 5 times a power of ten) that divides 0..max in at most five. */
        private static double step(double max) {
            if (max <= 0) {
                return 1;
            }
            double raw = max / 5;
            double magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
            for (double step : new double[] { 1, 2, 2.5, 5 }) {
                if (step * magnitude >= raw) {
                    return Math.max(step * magnitude, (max >= 1) ? 1 : 0);
                }
            }
            return Math.max(10 * magnitude, (max >= 1) ? 1 : 0);
        }
    }

    private static String number(double value) {
        if (value != 0 && Math.abs(value) < 0.01) {
            return format("%.0e", value);
        }
        return (value == Math.rint(value)) ? format("%.0f", value) : format("%.2f", value).replaceAll("0+$", "");
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    private static String format(String pattern, Object... arguments) {
        return String.format(Locale.ROOT, pattern, arguments);
    }

}
