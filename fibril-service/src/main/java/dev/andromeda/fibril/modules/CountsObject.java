package dev.andromeda.fibril.modules;

import dev.andromeda.fibril.json.JsJson;
import java.util.HashMap;
import java.util.Map;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.ScriptableObject;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * What {@code jam.count} answers: word → count, held as Java arrays. To a script it reads like
 * a plain object ({@code c.the}, {@code for (w in c)}, JSON); {@code fs.invokeAll} takes the
 * arrays as they are, so a book's ~25,000 distinct words never become JS properties.
 */
public final class CountsObject extends ScriptableObject implements JsJson.JsonValue {

    private final String[] words;
    private final long[] counts;
    private final int size;
    private transient Map<String, Integer> index;

    CountsObject(Words.Counts c) {
        this.words = c.words();
        this.counts = c.counts();
        this.size = c.size();
    }

    String[] words() { return words; }
    long[] counts() { return counts; }
    int distinct() { return size; }

    private Integer slot(String word) {
        Map<String, Integer> ix = index;
        if (ix == null) {
            ix = new HashMap<>(size * 2);
            for (int i = 0; i < size; i++) ix.put(words[i], i);
            index = ix;
        }
        return ix.get(word);
    }

    @Override public String getClassName() { return "Counts"; }

    @Override
    public Object get(String name, Scriptable start) {
        Integer i = slot(name);
        return i != null ? (Object) (double) counts[i] : super.get(name, start);
    }

    @Override
    public boolean has(String name, Scriptable start) {
        return slot(name) != null || super.has(name, start);
    }

    @Override
    public Object[] getIds() {
        Object[] ids = new Object[size];
        System.arraycopy(words, 0, ids, 0, size);
        return ids;
    }

    @Override
    public JsonNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        for (int i = 0; i < size; i++) o.put(words[i], counts[i]);
        return o;
    }
}
