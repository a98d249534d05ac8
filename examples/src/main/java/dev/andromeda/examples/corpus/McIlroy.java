package dev.andromeda.examples.corpus;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * McIlroy's pipeline, {@code tr -cs A-Za-z '\n' | tr A-Z a-z | sort | uniq -c | sort -rn | sed ${1}q},
 * computed in one pass: the independent reference the word count is checked against, and the
 * printer that formats results exactly as that pipeline does.
 */
public final class McIlroy {

    private McIlroy() {}

    /** Word counts of every book (zip) under {@code dir}/books. */
    public static Map<String, Long> countCorpus(Path dir) throws IOException {
        Map<String, Long> counts = new HashMap<>();
        List<Path> zips;
        try (Stream<Path> s = Files.list(dir.resolve("books"))) {
            zips = s.filter(p -> p.toString().endsWith(".zip")).sorted().toList();
        }
        for (Path zip : zips) {
            try (ZipInputStream z = new ZipInputStream(Files.newInputStream(zip))) {
                for (ZipEntry e = z.getNextEntry(); e != null; e = z.getNextEntry()) count(z, counts);
            }
        }
        return counts;
    }

    /** {@code tr -cs A-Za-z '\n' | tr A-Z a-z}: maximal runs of ASCII letters, lower-cased. */
    public static void count(InputStream in, Map<String, Long> counts) throws IOException {
        byte[] buf = new byte[1 << 16];
        StringBuilder word = new StringBuilder();
        for (int n = in.read(buf); n > 0; n = in.read(buf)) {
            for (int i = 0; i < n; i++) {
                int c = buf[i] & 0xff;
                if (c >= 'A' && c <= 'Z') word.append((char) (c + 32));
                else if (c >= 'a' && c <= 'z') word.append((char) c);
                else if (!word.isEmpty()) {
                    counts.merge(word.toString(), 1L, Long::sum);
                    word.setLength(0);
                }
            }
        }
        if (!word.isEmpty()) counts.merge(word.toString(), 1L, Long::sum);
    }

    /**
     * The first {@code n} lines of {@code sort | uniq -c | sort -rn}: by count descending and, as
     * {@code sort -r} compares whole lines as a last resort, ties by word in descending byte order.
     */
    public static List<String> top(Map<String, Long> counts, int n) {
        List<Map.Entry<String, Long>> entries = new ArrayList<>(counts.entrySet());
        entries.sort(Comparator.<Map.Entry<String, Long>>comparingLong(Map.Entry::getValue).reversed()
                .thenComparing(Map.Entry::getKey, Comparator.reverseOrder()));
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < Math.min(n, entries.size()); i++) lines.add(line(entries.get(i).getValue(), entries.get(i).getKey()));
        return lines;
    }

    /** One line as GNU {@code uniq -c} prints it: the count right-aligned in 7 columns, a space, the word. */
    public static String line(long count, String word) {
        return String.format("%7d %s", count, word);
    }
}
