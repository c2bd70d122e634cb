package io.statefulroute.core;

/**
 * A caller tried to create a link in a namespace other than its own. Links may be read in
 * any namespace but created only in the local one, so that each environment owns its users.
 */
public class ForeignNamespaceException extends StatefulRouteException {

    public ForeignNamespaceException(String namespace, String localNamespace) {
        super("Cannot create links in namespace '" + namespace + "': this client may only create links in its local namespace '"
                + localNamespace + "'");
    }
}
