"""`field__any_of=values`: the rows whose field is one of thousands of values.

Like `__in`, but on PostgreSQL the values travel as one array parameter
(`= ANY(%s)`): binding and quoting one parameter per value cost a batch of a
thousand statements more than running its queries did. Other databases get
`__in`.
"""

from django.core.exceptions import EmptyResultSet
from django.db.models import Field
from django.db.models.lookups import In


@Field.register_lookup
class AnyOf(In):
    lookup_name = "any_of"

    def as_postgresql(self, compiler, connection):
        if not self.rhs:
            raise EmptyResultSet  # as __in does: no query for nothing
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(v, connection, prepared=True) for v in self.rhs]
        return f"{lhs} = ANY(%s)", [*lhs_params, values]
