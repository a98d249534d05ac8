package dev.andromeda.fibril;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.fibril.modules.Words;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** jam's words against the real {@code tr -cs A-Za-z '\n' | tr A-Z a-z}, byte for byte. */
class WordsTest {

    static List<String> tr(byte[] input) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", "tr -cs A-Za-z '\\n' | tr A-Z a-z");
        pb.environment().put("LC_ALL", "C");
        Process p = pb.start();
        Thread writer = new Thread(() -> {
            try (var out = p.getOutputStream()) {
                out.write(input);
            } catch (Exception ignored) {
                // the reader sees what arrived
            }
        });
        writer.start();
        byte[] out = p.getInputStream().readAllBytes();
        writer.join();
        p.waitFor();
        List<String> words = new ArrayList<>(Arrays.asList(new String(out, StandardCharsets.ISO_8859_1).split("\n")));
        words.removeIf(String::isEmpty); // tr leaves one empty line when the input starts with a non-letter
        return words;
    }

    static List<String> jam(byte[] input) {
        return Words.split(new String(input, StandardCharsets.ISO_8859_1));
    }

    @Test
    void trickyInputMatchesTr() throws Exception {
        String tricky = "  It's 42nd-street's CAFÉ naïve--rock'n'roll\r\nO'Brien\tx1y2z3 ÆØÅ über\u00a0MIXEDcase\n\n_under_score_ e-mail@host.com "
                + "ZZZ\u00ff\u00c0a";
        byte[] utf8 = tricky.getBytes(StandardCharsets.UTF_8);
        assertThat(jam(utf8)).isEqualTo(tr(utf8));
        byte[] latin1 = tricky.getBytes(StandardCharsets.ISO_8859_1);
        assertThat(jam(latin1)).isEqualTo(tr(latin1));
        assertThat(jam("It's 42nd".getBytes(StandardCharsets.US_ASCII))).containsExactly("it", "s", "nd");
    }

    @Test
    void randomBytesMatchTr() throws Exception {
        Random rnd = new Random(31);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int i = 0; i < 200_000; i++) {
            int r = rnd.nextInt(10);
            b.write(r < 6 ? 'A' + rnd.nextInt(58) : rnd.nextInt(256)); // letters, [\]^_` between them, any byte
        }
        byte[] input = b.toByteArray();
        List<String> expected = tr(input);
        assertThat(jam(input)).isEqualTo(expected);
        // the byte path (what jam.unzip's Text is counted on), with bytes past the length ignored
        byte[] padded = java.util.Arrays.copyOf(input, input.length + 7);
        java.util.Arrays.fill(padded, input.length, padded.length, (byte) 'q');
        assertThat(Words.split(padded, input.length)).isEqualTo(expected);
        java.util.Map<String, Long> counted = new java.util.HashMap<>();
        for (String w : expected) counted.merge(w, 1L, Long::sum);
        assertThat(Words.count(padded, input.length).toMap()).isEqualTo(counted);
        assertThat(Words.countChars(new String(input, StandardCharsets.ISO_8859_1)).toMap()).isEqualTo(counted);
    }

    @Test
    void countAgreesWithSplit() {
        var counts = Words.count("the The THE a-b a");
        assertThat(counts).containsEntry("the", 3L).containsEntry("a", 2L).containsEntry("b", 1L).hasSize(3);
    }
}
