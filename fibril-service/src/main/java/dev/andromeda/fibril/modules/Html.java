package dev.andromeda.fibril.modules;

import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The links of an HTML page: the href of every {@code <a>} and {@code <area>}, resolved
 * against the page URL (or its {@code <base href>}), fragment dropped, http(s) only, each once,
 * in document order. A tolerant scan, not a parser: real pages are rarely valid HTML.
 */
final class Html {

    private static final Pattern COMMENT = Pattern.compile("<!--.*?-->", Pattern.DOTALL);
    private static final Pattern TAG = Pattern.compile("<(a|area|base)\\b([^>]*)>", Pattern.CASE_INSENSITIVE);
    private static final Pattern HREF = Pattern.compile(
            "(?:^|\\s)href\\s*=\\s*(?:\"([^\"]*)\"|'([^']*)'|([^\\s\"'>]+))", Pattern.CASE_INSENSITIVE);

    private Html() {}

    static List<String> links(String html, String pageUrl) {
        URI base;
        try {
            base = URI.create(pageUrl);
        } catch (IllegalArgumentException e) {
            return List.of();
        }
        Set<String> out = new LinkedHashSet<>();
        Matcher tag = TAG.matcher(COMMENT.matcher(html).replaceAll(""));
        while (tag.find()) {
            Matcher href = HREF.matcher(tag.group(2));
            if (!href.find()) continue;
            String raw = href.group(1) != null ? href.group(1) : href.group(2) != null ? href.group(2) : href.group(3);
            String ref = unescape(raw.strip());
            if (tag.group(1).equalsIgnoreCase("base")) {
                URI b = resolve(base, ref);
                if (b != null) base = b;
                continue;
            }
            URI u = resolve(base, ref);
            if (u == null || u.getScheme() == null) continue;
            String scheme = u.getScheme().toLowerCase();
            if (!scheme.equals("http") && !scheme.equals("https")) continue;
            try {
                u = new URI(u.getScheme(), u.getRawAuthority() == null ? null : u.getAuthority(), u.getPath(), u.getQuery(), null);
            } catch (Exception keepAsIs) {
                // a URI we cannot rebuild keeps its fragment: harmless
            }
            out.add(u.toString());
        }
        return new ArrayList<>(out);
    }

    private static URI resolve(URI base, String ref) {
        if (ref.isEmpty() || ref.startsWith("#")) return null;
        try {
            return base.resolve(ref.replace(" ", "%20"));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static String unescape(String s) {
        if (s.indexOf('&') < 0) return s;
        return s.replace("&amp;", "&").replace("&quot;", "\"").replace("&#39;", "'").replace("&apos;", "'")
                .replace("&lt;", "<").replace("&gt;", ">");
    }
}
