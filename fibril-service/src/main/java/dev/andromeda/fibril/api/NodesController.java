package dev.andromeda.fibril.api;

import dev.andromeda.api.NodesApi;
import dev.andromeda.api.model.FibrilList;
import dev.andromeda.api.model.Node;
import dev.andromeda.api.model.NodeList;
import dev.andromeda.common.config.M31Properties;
import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.fibril.nucleus.Nucleus;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.RestController;

/**
 * The node as a virtual resource, /net/node={name}. The constellation-wide GET /net belongs to
 * naming; a node asked directly answers for itself alone.
 */
@RestController
public class NodesController implements NodesApi {

    private final Nucleus nucleus;
    private final M31Properties props;

    public NodesController(Nucleus nucleus, M31Properties props) {
        this.nucleus = nucleus;
        this.props = props;
    }

    @Override
    public ResponseEntity<Node> describeNode(String node) {
        check(node);
        return ResponseEntity.ok(self());
    }

    @Override
    public ResponseEntity<FibrilList> listNodeFibrils(String node) {
        check(node);
        FibrilList list = new FibrilList();
        nucleus.live().forEach(f -> list.addFibrilsItem(FibrilViews.view(f, nucleus.node())));
        return ResponseEntity.ok(list);
    }

    @Override
    public ResponseEntity<NodeList> listNodes() {
        return ResponseEntity.ok(new NodeList().addNodesItem(self()));
    }

    private Node self() {
        Node n = new Node().name(nucleus.node()).url(props.getSelfUrl()).alive(true).fibrils(nucleus.running())
                .handedInMemory(nucleus.modules().handedInMemory())
                .lastSeen(OffsetDateTime.now(ZoneOffset.UTC));
        props.getLabels().forEach(n::putLabelsItem);
        return n;
    }

    private void check(String node) {
        if (!nucleus.node().equals(node)) {
            throw M31Problem.notFound("this is node " + nucleus.node() + ", not " + node);
        }
    }
}
