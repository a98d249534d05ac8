package dev.andromeda.fibril.api;

import dev.andromeda.api.FibrilsApi;
import dev.andromeda.api.model.Fibril;
import dev.andromeda.api.model.SpawnRequest;
import dev.andromeda.common.id.Ids;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.common.security.Callers;
import dev.andromeda.fibril.nucleus.Nucleus;
import dev.andromeda.fibril.nucleus.Program;
import dev.andromeda.fibril.nucleus.SpawnSpec;
import java.net.URI;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.context.request.async.DeferredResult;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * /fibrils on a node. The scheduler has already chosen this node when a spawn arrives here, so
 * the fibril runs here; a spawn meant for another node is a conflict, not a forward.
 */
@RestController
public class FibrilsController implements FibrilsApi {

    private final Nucleus nucleus;
    private final JsonMapper json;

    public FibrilsController(Nucleus nucleus, JsonMapper json) {
        this.nucleus = nucleus;
        this.json = json;
    }

    @Override
    public ResponseEntity<Fibril> spawnFibril(SpawnRequest req) {
        if (req.getNode() != null && !req.getNode().equals(nucleus.node())) {
            throw M31Problem.conflict("this is node " + nucleus.node() + ", the spawn was placed on node " + req.getNode());
        }
        Program.Kind kind = req.getKind() == SpawnRequest.KindEnum.FUNCTION ? Program.Kind.FUNCTION : Program.Kind.SCRIPT;
        if (req.getSource() == null && req.getFingerprint() == null) {
            throw M31Problem.badRequest("source", "give the program: source, or the fingerprint of stored code");
        }
        JsonNode args = json.valueToTree(req.getArgs());
        JsonNode env = json.valueToTree(req.getEnv());
        if (args != null && !args.isNull() && !args.isArray()) throw M31Problem.badRequest("args", "args must be an array");
        if (env != null && !env.isNull() && !env.isObject()) throw M31Problem.badRequest("env", "env must be an object");
        SpawnSpec spec = new SpawnSpec(kind, req.getSource(), req.getFingerprint(),
                args == null || args.isNull() ? json.createArrayNode() : (ArrayNode) args,
                env == null || env.isNull() ? json.createObjectNode() : (ObjectNode) env,
                req.getParent(), req.getToChild(), req.getFromChild(), req.getToChildCap(), req.getFromChildCap(),
                req.getWallClock() == null ? null : java.time.Duration.ofSeconds(req.getWallClock()));
        // the fibril acts for whoever signed this request (the scheduler forwards the user's identity)
        var f = nucleus.spawn(spec, Boolean.TRUE.equals(req.getAnchor()), Callers.current());
        return ResponseEntity.created(URI.create("/fibrils/" + f.id())).body(FibrilViews.view(f, nucleus.node()));
    }

    @Override
    public ResponseEntity<Fibril> getFibril(String id, Integer wait) {
        return ResponseEntity.ok(FibrilViews.view(find(id), nucleus.node()));
    }

    /**
     * {@code GET /fibrils/{id}?wait=s}, the long poll: answered when the fibril ends or the wait is
     * over, holding no request thread meanwhile (a thousand clients waiting on a node cost it no
     * thread), or with a 404 when it moves to another node meanwhile. Chosen over the generated
     * mapping whenever {@code wait} is given.
     */
    @GetMapping(value = "/fibrils/{id}", params = "wait", produces = {"application/json", "application/problem+json"})
    public DeferredResult<ResponseEntity<Fibril>> getFibrilWhenEnded(@PathVariable("id") String id,
                                                                     @RequestParam("wait") String wait) {
        int seconds;
        try {
            seconds = Integer.parseInt(wait.strip());
        } catch (NumberFormatException e) {
            throw M31Problem.badRequest("wait", "wait is a whole number of seconds, 0 to " + MAX_WAIT);
        }
        if (seconds < 0 || seconds > MAX_WAIT) throw M31Problem.badRequest("wait", "wait is 0 to " + MAX_WAIT + " seconds");
        var f = find(id);
        DeferredResult<ResponseEntity<Fibril>> answer = new DeferredResult<>((seconds + 10) * 1000L);
        if (seconds == 0 || f.state().ended()) {
            answer.setResult(ResponseEntity.ok(FibrilViews.view(f, nucleus.node())));
            return answer;
        }
        // a fibril that moves away while it is waited on is answered like one that had moved
        // before: 404, so that the gateway asks naming again and waits on the new node instead
        CompletableFuture.anyOf(f.end().copy(), f.left().copy()).completeOnTimeout(f, seconds, TimeUnit.SECONDS)
                .whenComplete((v, e) -> {
                    String to = f.movedTo();
                    if (to != null) answer.setErrorResult(M31Problem.notFound("fibril " + id + " moved to node " + to));
                    else answer.setResult(ResponseEntity.ok(FibrilViews.view(f, nucleus.node())));
                });
        return answer;
    }

    static final int MAX_WAIT = 60;

    @Override
    public ResponseEntity<Fibril> killFibril(String id) {
        Ids.require(id, Ids.FIBRIL, "id");
        var f = nucleus.kill(id);
        // a parked fibril ends at once; a running one at its next instruction check
        await(f, 5);
        return ResponseEntity.ok(FibrilViews.view(f, nucleus.node()));
    }

    private dev.andromeda.fibril.nucleus.Fibril find(String id) {
        Ids.require(id, Ids.FIBRIL, "id");
        String to = nucleus.movedTo(id);
        // a 404, so that the gateway asks naming again and finds the new node
        if (to != null) throw M31Problem.notFound("fibril " + id + " moved to node " + to);
        return nucleus.find(id).orElseThrow(() -> M31Problem.notFound("no fibril " + id + " on node " + nucleus.node()));
    }

    private static void await(dev.andromeda.fibril.nucleus.Fibril f, int seconds) {
        try {
            f.end().get(seconds, TimeUnit.SECONDS);
        } catch (TimeoutException | ExecutionException notYet) {
            // report it as it is now
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
