import { Controller, Get, Param } from '@nestjs/common';
import { Problem } from '../common/problem';
import { PROBLEM_TYPES, type ProblemName, problemUri } from '../common/problem-types';
import { ApiExcludeController } from '../docs/api-decorators';

/**
 * `GET /problems/<name>`: what an error `type` means, for a person who met it (no token; served on
 * ADMIN_PORT when that is set, like the other operations paths).
 */
@ApiExcludeController()
@Controller('problems')
export class ProblemsController {
  @Get(':name')
  get(@Param('name') name: string) {
    if (!Object.hasOwn(PROBLEM_TYPES, name)) {
      throw new Problem(404, `No problem type "${name.slice(0, 64)}".`);
    }
    return { type: problemUri(name as ProblemName), ...PROBLEM_TYPES[name as ProblemName] };
  }
}
