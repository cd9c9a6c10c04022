import {
  GraphQLError,
  Kind,
  getNamedType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  valueFromAST,
  type FieldNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLType,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql'

export interface CostOptions {
  /** The highest cost an operation may have. */
  readonly max: number
  /** Size assumed for a list whose size the query does not give. Default 10. */
  readonly defaultListSize?: number
  /** Arguments that give a list's size. Default first, last, limit, take, pageSize. */
  readonly sizeArguments?: readonly string[]
  /** The operation's variables, so that `first: $n` counts as n. */
  readonly variables?: Readonly<Record<string, unknown>> | null
}

/**
 * Rejects operations nested deeper than `max` fields (`{ a { b { c } } }` is 3 deep), through
 * fragments too. Introspection fields (`__schema`, `__type`) do not count, so tools still work.
 *
 * @example
 * validate(schema, document, [...specifiedRules, depthLimit(10)])
 */
export function depthLimit(max: number): ValidationRule {
  return (context) => ({
    OperationDefinition(node) {
      const depth = depthOf(node.selectionSet, context, new Set())
      if (depth > max) {
        context.reportError(
          new GraphQLError(`the ${node.name ? `operation "${node.name.value}"` : 'operation'} is ${depth} levels deep; the limit is ${max}`, {
            nodes: [node],
            extensions: { code: 'DEPTH_LIMIT_EXCEEDED', depth, limit: max },
          }),
        )
      }
      return false
    },
  })
}

function depthOf(selectionSet: SelectionSetNode, context: ValidationContext, inFragments: Set<string>): number {
  let deepest = 0
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value.startsWith('__')) continue
      deepest = Math.max(deepest, 1 + (selection.selectionSet ? depthOf(selection.selectionSet, context, inFragments) : 0))
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      deepest = Math.max(deepest, depthOf(selection.selectionSet, context, inFragments))
    } else {
      const name = selection.name.value
      const fragment = context.getFragment(name)
      // A cycle is reported by NoFragmentCyclesRule; here it only must not recurse forever.
      if (!fragment || inFragments.has(name)) continue
      inFragments.add(name)
      deepest = Math.max(deepest, depthOf(fragment.selectionSet, context, inFragments))
      inFragments.delete(name)
    }
  }
  return deepest
}

/**
 * Rejects operations whose estimated cost passes `max`. Each field costs 1; a list field
 * multiplies the cost of its subtree by its size: the `first`/`limit` argument when the query
 * gives it (literally or as a variable), else `defaultListSize`, or the schema's default for
 * that argument when it is smaller. A larger schema default (`limit: Int = 100`) is a cap on
 * what one page may hold, not what an ordinary query asks for; counting it would make
 * `{ devices { rules { kind } } }` cost 100 x 100 and every normal query illegal. The cost
 * follows what the query asks: `{ users(first: 50) { posts { id } } }` costs
 * 50 x (1 + 10 x (1 + 1)) = 1 050.
 *
 * @example
 * validate(schema, document, [...specifiedRules, costLimit({ max: 1_000, variables })])
 */
export function costLimit(options: CostOptions): ValidationRule {
  const sizeArguments = new Set(options.sizeArguments ?? ['first', 'last', 'limit', 'take', 'pageSize'])
  const defaultListSize = options.defaultListSize ?? 10
  return (context) => ({
    OperationDefinition(node) {
      const root = context.getSchema().getRootType(node.operation)
      if (!root) return false
      const cost = costOf(node.selectionSet, root, { context, sizeArguments, defaultListSize, variables: options.variables ?? {}, inFragments: new Set() })
      if (cost > options.max) {
        context.reportError(
          new GraphQLError(`the ${node.name ? `operation "${node.name.value}"` : 'operation'} costs ${cost}; the limit is ${options.max}`, {
            nodes: [node],
            extensions: { code: 'COST_LIMIT_EXCEEDED', cost, limit: options.max },
          }),
        )
      }
      return false
    },
  })
}

interface CostState {
  readonly context: ValidationContext
  readonly sizeArguments: ReadonlySet<string>
  readonly defaultListSize: number
  readonly variables: Readonly<Record<string, unknown>>
  readonly inFragments: Set<string>
}

function costOf(selectionSet: SelectionSetNode, parent: GraphQLNamedType, state: CostState): number {
  let total = 0
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value.startsWith('__')) continue
      const field = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[selection.name.value] : undefined
      // An unknown field is reported by FieldsOnCorrectTypeRule; it costs 1 here.
      if (field === undefined) {
        total += 1
        continue
      }
      const children = selection.selectionSet ? costOf(selection.selectionSet, getNamedType(field.type), state) : 0
      total += multiplier(field.type, field, selection, state) * (1 + children)
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const condition = selection.typeCondition ? state.context.getSchema().getType(selection.typeCondition.name.value) : parent
      total += costOf(selection.selectionSet, condition ?? parent, state)
    } else {
      const name = selection.name.value
      const fragment = state.context.getFragment(name)
      if (!fragment || state.inFragments.has(name)) continue
      state.inFragments.add(name)
      total += costOf(fragment.selectionSet, state.context.getSchema().getType(fragment.typeCondition.name.value) ?? parent, state)
      state.inFragments.delete(name)
    }
  }
  return total
}

/** How many times a field's subtree counts: the product of its list sizes. */
function multiplier(type: GraphQLType, field: GraphQLField<unknown, unknown>, node: FieldNode, state: CostState): number {
  let factor = 1
  let current = type
  let outermost = true
  for (;;) {
    if (isNonNullType(current)) current = current.ofType
    else if (isListType(current)) {
      factor *= outermost ? listSize(field, node, state) : state.defaultListSize
      outermost = false
      current = current.ofType
    } else return factor
  }
}

function listSize(field: GraphQLField<unknown, unknown>, node: FieldNode, state: CostState): number {
  for (const argument of node.arguments ?? []) {
    if (!state.sizeArguments.has(argument.name.value)) continue
    const definition = field.args.find((arg) => arg.name === argument.name.value)
    const value: unknown = definition ? valueFromAST(argument.value, definition.type, state.variables) : undefined
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value
  }
  for (const definition of field.args) {
    if (state.sizeArguments.has(definition.name) && typeof definition.defaultValue === 'number') return Math.min(definition.defaultValue, state.defaultListSize)
  }
  return state.defaultListSize
}
