"""Management commands, thin: each calls the same service admin and tasks call. Above every domain
package."""
