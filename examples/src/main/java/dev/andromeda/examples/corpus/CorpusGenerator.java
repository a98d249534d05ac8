package dev.andromeda.examples.corpus;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes a crawlable book collection: {@code index.html} linking to {@code books/book-NNNN.zip},
 * each a zipped text of English-like prose. Deterministic for a seed, so a run can be
 * reproduced and compared. Word choice follows a Zipf law over a vocabulary of common English
 * words and made-up ones, with capitals, punctuation, digits, apostrophes and hyphens — what
 * McIlroy's {@code tr -cs A-Za-z '\n'} has to cut through.
 */
public final class CorpusGenerator {

    private static final String[] COMMON = ("the of and to a in is it you that he was for on are with as i his they be at one have "
            + "this from or had by not word but what some we can out other were all there when up use your how said an each she "
            + "which do their time if will way about many then them write would like so these her long make thing see him two has "
            + "look more day could go come did number sound no most people my over know water than call first who may down side "
            + "been now find any new work part take get place made live where after back little only round man year came show "
            + "every good me give our under name very through just form sentence great think say help low line differ turn cause "
            + "much mean before move right boy old too same tell does set three want air well also play small end put home read "
            + "hand port large spell add even land here must big high such follow act why ask men change went light kind off need "
            + "house picture try us again animal point mother world near build self earth father head stand own page should "
            + "country found answer school grow study still learn plant cover food sun four between state keep eye never last let "
            + "thought city tree cross farm hard start might story saw far sea draw left late run while press close night real life "
            + "few north open seem together next white children begin got walk example ease paper group always music those both "
            + "mark often letter until mile river car feet care second book carry took science eat room friend began idea fish "
            + "mountain stop once base hear horse cut sure watch color face wood main enough plain girl usual young ready above "
            + "ever red list though feel talk bird soon body dog family direct pose leave song measure door product black short "
            + "numeral class wind question happen complete ship area half rock order fire south problem piece told knew pass since "
            + "top whole king space heard best hour better true during hundred five remember step early hold west ground interest "
            + "reach fast verb sing listen six table travel less morning ten simple several vowel toward war lay against pattern "
            + "slow center love person money serve appear road map rain rule govern pull cold notice voice unit power town fine "
            + "certain fly fall lead cry dark machine note wait plan figure star box noun field rest correct able pound done beauty "
            + "drive stood contain front teach week final gave green oh quick develop ocean warm free minute strong special mind "
            + "behind clear tail produce fact street inch multiply nothing course stay wheel full force blue object decide surface "
            + "deep moon island foot system busy test record boat common gold possible plane stead dry wonder laugh thousand ago "
            + "ran check game shape equate hot miss brought heat snow tire bring yes distant fill east paint language among pi").split(" ");

    private static final String[] ONSETS = {"b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
            "z", "br", "cl", "dr", "fl", "gr", "pl", "pr", "sc", "sh", "sl", "sp", "st", "str", "th", "tr", "wh"};
    private static final String[] NUCLEI = {"a", "e", "i", "o", "u", "ai", "ea", "ee", "io", "ou", "oo", "y"};
    private static final String[] CODAS = {"", "", "", "n", "r", "s", "t", "l", "m", "nd", "ng", "st", "ck", "rt", "th"};
    private static final String[] PUNCT = {",", ",", ";", ":", " -", ""};

    public record Options(long seed, int books, long bytesPerBook, int vocabulary) {
        public static Options small(long seed) {
            return new Options(seed, 6, 40_000, 3_000);
        }
    }

    private CorpusGenerator() {}

    /** Writes the collection under {@code dir}; answers the total bytes of text written. */
    public static long generate(Path dir, Options o) throws IOException {
        Files.createDirectories(dir.resolve("books"));
        String[] vocab = vocabulary(o.vocabulary(), new SplittableRandom(o.seed()));
        double[] cumulative = zipf(vocab.length, 1.07);
        List<String> names = new ArrayList<>();
        long total = 0;
        for (int b = 0; b < o.books(); b++) {
            String name = String.format("book-%04d", b);
            names.add(name);
            SplittableRandom rnd = new SplittableRandom(o.seed() * 1_000_003L + b);
            total += writeBook(dir.resolve("books").resolve(name + ".zip"), name + ".txt", vocab, cumulative, o.bytesPerBook(), rnd);
        }
        StringBuilder html = new StringBuilder("<!DOCTYPE html>\n<html><head><title>M31 corpus</title></head><body>\n<h1>Books</h1>\n<ul>\n");
        for (String n : names) html.append("  <li><a href=\"books/").append(n).append(".zip\">").append(n).append("</a></li>\n");
        html.append("</ul>\n</body></html>\n");
        Files.writeString(dir.resolve("index.html"), html.toString(), StandardCharsets.UTF_8);
        return total;
    }

    private static long writeBook(Path zip, String entry, String[] vocab, double[] cumulative, long bytes,
                                  SplittableRandom rnd) throws IOException {
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(zip), 1 << 16);
             ZipOutputStream z = new ZipOutputStream(out)) {
            z.setLevel(Deflater.BEST_SPEED);
            z.putNextEntry(new ZipEntry(entry));
            StringBuilder sb = new StringBuilder(1 << 16);
            long written = 0;
            boolean sentenceStart = true;
            int wordsInSentence = 0;
            int col = 0;
            while (written < bytes) {
                String w = vocab[pick(cumulative, rnd.nextDouble())];
                int r = rnd.nextInt(1000);
                if (r < 4) w = w + "'s";
                else if (r < 6) w = Integer.toString(rnd.nextInt(2030));
                else if (r < 8) w = w + "-" + vocab[pick(cumulative, rnd.nextDouble())];
                if (sentenceStart || r > 990) w = Character.toUpperCase(w.charAt(0)) + w.substring(1);
                else if (r == 990) w = w.toUpperCase();
                sb.append(w);
                sentenceStart = false;
                wordsInSentence++;
                if (wordsInSentence > 6 && rnd.nextInt(10) == 0) {
                    sb.append(rnd.nextInt(8) == 0 ? "?" : ".");
                    sentenceStart = true;
                    wordsInSentence = 0;
                } else if (rnd.nextInt(12) == 0) {
                    sb.append(PUNCT[rnd.nextInt(PUNCT.length)]);
                }
                col += w.length() + 1;
                if (col > 72) {
                    sb.append('\n');
                    if (sentenceStart && rnd.nextInt(6) == 0) sb.append('\n');
                    col = 0;
                } else {
                    sb.append(' ');
                }
                if (sb.length() >= 1 << 15) {
                    byte[] chunk = sb.toString().getBytes(StandardCharsets.US_ASCII);
                    z.write(chunk);
                    written += chunk.length;
                    sb.setLength(0);
                }
            }
            byte[] chunk = sb.append('\n').toString().getBytes(StandardCharsets.US_ASCII);
            z.write(chunk);
            written += chunk.length;
            z.closeEntry();
            return written;
        }
    }

    static String[] vocabulary(int size, SplittableRandom rnd) {
        java.util.LinkedHashSet<String> words = new java.util.LinkedHashSet<>(List.of(COMMON));
        while (words.size() < size) {
            StringBuilder w = new StringBuilder();
            int syllables = 1 + rnd.nextInt(3);
            for (int s = 0; s < syllables; s++) {
                w.append(ONSETS[rnd.nextInt(ONSETS.length)]).append(NUCLEI[rnd.nextInt(NUCLEI.length)]);
            }
            w.append(CODAS[rnd.nextInt(CODAS.length)]);
            words.add(w.toString());
        }
        return words.toArray(new String[0]);
    }

    private static double[] zipf(int n, double s) {
        double[] c = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += 1.0 / Math.pow(i + 1, s);
            c[i] = sum;
        }
        for (int i = 0; i < n; i++) c[i] /= sum;
        return c;
    }

    private static int pick(double[] cumulative, double u) {
        int lo = 0, hi = cumulative.length - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (cumulative[mid] < u) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /** {@code java … CorpusGenerator DIR [books] [bytesPerBook] [seed]} */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args.length > 0 ? args[0] : "corpus");
        int books = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        long per = args.length > 2 ? Long.parseLong(args[2]) : 200_000;
        long seed = args.length > 3 ? Long.parseLong(args[3]) : 31;
        long total = generate(dir, new Options(seed, books, per, 20_000));
        System.out.printf("%d books, %.1f MB of text in %s%n", books, total / 1e6, dir);
    }
}
