/** One of ajv's errors, as fastify hands them over in err.validation. */
export interface ValidationIssue {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/**
 * A request that failed its schema, in words that name the field:
 * "unknown field 'options.Live' in the request body", "field
 * 'options.maxDowntime' of the request body must be >= 1".
 */
export function describeValidation(issues: ValidationIssue[], context: string | undefined): string {
  const where = context === 'querystring' ? 'the query string' : context === 'params' ? 'the URL' : context === 'headers' ? 'the headers' : 'the request body';
  const parts = issues.slice(0, 5).map((i) => {
    const path = i.instancePath.split('/').filter(Boolean).map(unescapePointer);
    if (i.keyword === 'additionalProperties') return `unknown field '${[...path, String(i.params.additionalProperty)].join('.')}' in ${where}`;
    if (i.keyword === 'required') return `missing field '${[...path, String(i.params.missingProperty)].join('.')}' in ${where}`;
    const enumValues = i.keyword === 'enum' && Array.isArray(i.params.allowedValues) ? `: ${i.params.allowedValues.join(', ')}` : '';
    return path.length === 0
      ? `${where} ${i.message ?? 'is invalid'}${enumValues}`
      : `field '${path.join('.')}' of ${where} ${i.message ?? 'is invalid'}${enumValues}`;
  });
  return parts.join('; ');
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}
