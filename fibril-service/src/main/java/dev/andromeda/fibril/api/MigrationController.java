package dev.andromeda.fibril.api;

import dev.andromeda.api.MigrationApi;
import dev.andromeda.api.model.AnchorRequest;
import dev.andromeda.api.model.Fibril;
import dev.andromeda.api.model.FibrilList;
import dev.andromeda.api.model.MigrateRequest;
import dev.andromeda.api.model.MigrationPacket;
import dev.andromeda.common.id.Ids;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.fibril.mantle.Mantle;
import dev.andromeda.fibril.nucleus.Nucleus;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Moving, anchoring and cloning fibrils; adopting the ones other nodes send here; listing every
 * fibril of the constellation (this node asks every live node that naming lists, itself included).
 */
@RestController
public class MigrationController implements MigrationApi {

    private final Nucleus nucleus;
    private final Mantle mantle;
    private final JsonMapper json;

    public MigrationController(Nucleus nucleus, Mantle mantle, JsonMapper json) {
        this.nucleus = nucleus;
        this.mantle = mantle;
        this.json = json;
    }

    @Override
    public ResponseEntity<Fibril> migrateFibril(String id, MigrateRequest req, Integer wait) {
        Ids.require(id, Ids.FIBRIL, "id");
        String target = req == null ? null : req.getNode();
        if (target == null || target.isBlank()) throw M31Problem.badRequest("node", "name the node to move to");
        CompletableFuture<JsonNode> moved = nucleus.migrate(id, target);
        JsonNode answer = await(moved, wait == null ? 30 : wait);
        if (answer == null) return ResponseEntity.status(HttpStatus.ACCEPTED).body(view(id));
        return ResponseEntity.ok(json.treeToValue(answer, Fibril.class));
    }

    @Override
    public ResponseEntity<Fibril> cloneFibril(String id, MigrateRequest req, Integer wait) {
        Ids.require(id, Ids.FIBRIL, "id");
        String target = req == null ? null : req.getNode();
        if (target == null || target.isBlank()) target = anotherNode();
        CompletableFuture<JsonNode> clone = nucleus.cloneTo(id, target);
        JsonNode answer = await(clone, wait == null ? 30 : wait);
        if (answer == null) return ResponseEntity.status(HttpStatus.ACCEPTED).body(view(id));
        return ResponseEntity.status(HttpStatus.CREATED).body(json.treeToValue(answer, Fibril.class));
    }

    @Override
    public ResponseEntity<Fibril> anchorFibril(String id, AnchorRequest req) {
        Ids.require(id, Ids.FIBRIL, "id");
        var f = nucleus.live().stream().filter(x -> x.id().equals(id)).findFirst().orElseThrow(() -> {
            String to = nucleus.movedTo(id);
            return M31Problem.notFound(to != null ? "fibril " + id + " moved to node " + to : "no live fibril " + id + " on node " + nucleus.node());
        });
        f.anchor(req == null || !Boolean.FALSE.equals(req.getAnchored()));
        return ResponseEntity.ok(FibrilViews.view(f, nucleus.node()));
    }

    @Override
    public ResponseEntity<Fibril> receiveFibril(String node, MigrationPacket packet) {
        if (!nucleus.node().equals(node)) throw M31Problem.notFound("this is node " + nucleus.node() + ", not " + node);
        var f = nucleus.receive(packet.getHeader(), packet.getState(), packet.getSig());
        return ResponseEntity.status(HttpStatus.CREATED).body(FibrilViews.view(f, nucleus.node()));
    }

    @Override
    public ResponseEntity<FibrilList> listFibrils(String state, String scope) {
        String wanted = state == null ? null : state.toLowerCase(Locale.ROOT);
        FibrilList out = new FibrilList();
        out.setFibrils(new ArrayList<>());
        if ("node".equals(scope)) {
            local(wanted).forEach(out::addFibrilsItem);
            return ResponseEntity.ok(out);
        }
        // every live node naming knows, this one answered here; a node that does not answer is left out
        Map<String, String> nodes;
        try {
            nodes = mantle.nodes().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw M31Problem.unavailable("cannot ask naming for the nodes: " + e.getMessage());
        }
        List<CompletableFuture<JsonNode>> asked = new ArrayList<>();
        for (Map.Entry<String, String> n : nodes.entrySet()) {
            if (n.getKey().equals(nucleus.node())) continue;
            asked.add(mantle.nodeFibrils(n.getValue(), wanted).exceptionally(e -> null));
        }
        local(wanted).forEach(out::addFibrilsItem);
        for (CompletableFuture<JsonNode> a : asked) {
            JsonNode list = a.join();
            if (list == null) continue;
            for (JsonNode f : list.path("fibrils")) out.addFibrilsItem(json.treeToValue(f, Fibril.class));
        }
        return ResponseEntity.ok(out);
    }

    private List<Fibril> local(String state) {
        List<Fibril> out = new ArrayList<>();
        for (var f : nucleus.all()) {
            Fibril v = FibrilViews.view(f, nucleus.node());
            if (state == null || v.getState().getValue().equals(state)) out.add(v);
        }
        return out;
    }

    private String anotherNode() {
        try {
            for (String n : mantle.nodes().get(10, TimeUnit.SECONDS).keySet()) if (!n.equals(nucleus.node())) return n;
        } catch (Exception e) {
            throw M31Problem.unavailable("cannot ask naming for the nodes: " + e.getMessage());
        }
        return nucleus.node();
    }

    private Fibril view(String id) {
        return nucleus.find(id).map(f -> FibrilViews.view(f, nucleus.node())).orElse(new Fibril().id(id).uri("/fibrils/" + id));
    }

    /** The outcome within {@code seconds}, null when not yet; a failed transfer is its problem. */
    private static JsonNode await(CompletableFuture<JsonNode> f, int seconds) {
        try {
            return f.get(seconds, TimeUnit.SECONDS);
        } catch (TimeoutException notYet) {
            return null;
        } catch (ExecutionException | CompletionException e) {
            Throwable t = e.getCause() == null ? e : e.getCause();
            while (t instanceof CompletionException && t.getCause() != null) t = t.getCause();
            if (t instanceof M31Problem p) throw p;
            throw new M31Problem(502, "transfer-failed", "the transfer failed: " + t.getMessage(), null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
